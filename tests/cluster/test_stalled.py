"""A controller that stalls (a long pause, a frozen VM) instead of dying: taken over only if it
is still away after the grace, and, taken over, it leaves at once when it runs again instead of
finishing, a second time, the work its taker now finishes."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from signal import SIGCONT, SIGSTOP

import pytest
import redis.asyncio as aioredis
from edgewhisk_controller.cluster import keys, takeover
from edgewhisk_controller.cluster.node import FENCED_EXIT
from edgewhisk_controller.cluster.takeover import Takeover
from edgewhisk_devkit import UNLIMITED, Cluster, Redis

from .test_restart import _until


def test_a_controller_live_again_after_the_grace_is_not_taken_over(
        redis: Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    """``s`` was seen gone and renews its entry again before the grace ends: ``t`` leaves its
    work to it; seen gone and still away after the grace, it is claimed."""
    monkeypatch.setattr(takeover, "GRACE_S", 0.05)
    asked: list[str] = []
    live = {"s"}

    async def recover(dead: str, upto: int | None, via: str | None) -> str:
        asked.append(dead)
        return "done"

    async def scenario() -> tuple[str, list[str], str]:
        client = aioredis.from_url(redis.uri, decode_responses=True)
        stalled = Takeover("s", client)
        taker = Takeover("t", client, recover, alive=lambda c: c in live)
        try:
            await stalled.join()
            taker.later("s")
            await asyncio.sleep(0.3)
            left = await stalled.taken_by()
            asked_then = list(asked)
            live.clear()
            taker.later("s")
            while not asked:
                await asyncio.sleep(0.01)
            return left, asked_then, await stalled.taken_by()
        finally:
            await taker.close()
            await client.delete(keys.takeover("s"), keys.taken("t"), keys.incarnation("s"))
            await client.aclose()

    left, asked_then, taken_by = asyncio.run(scenario())
    assert (left, asked_then) == ("", [])
    assert taken_by == "t"


def test_a_controller_taken_over_while_stalled_leaves_when_it_runs_again(
        tmp_path: Path, db: str, redis: Redis) -> None:
    """c1 is held (SIGSTOP) until c0 has taken it over, then let go: it exits at once with
    ``FENCED_EXIT`` (before, it went on as if nothing had happened, beside its taker), and
    started again it joins as a new incarnation and stays."""
    with Cluster(tmp_path, 2, db=db, redis=redis.uri,
                 options=("--invokers", "0", *UNLIMITED)) as cluster:
        os.kill(cluster[1].pid, SIGSTOP)
        try:
            _until(lambda: "took over controller c1" in cluster[0].log(), 30.0)
        finally:
            os.kill(cluster[1].pid, SIGCONT)
        status = cluster[1].child.wait_exit(15.0)
        cluster[1].stop()
        fenced_log = cluster[1].log()
        cluster[1].start()
        time.sleep(2.0)  # several of its publications: a fence would have ended it
        assert cluster[1].child.process is not None
        assert cluster[1].child.process.poll() is None
        with cluster[1].client() as c1:
            assert c1.namespaces() is not None
    assert status == FENCED_EXIT
    assert "took this controller (c1, incarnation" in fenced_log
