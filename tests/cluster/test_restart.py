"""A controller SIGKILLed and started again under its id before the others' takeover: the
takeover is of the dead incarnation, and a live one's work is never taken from it."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from signal import SIGCONT, SIGSTOP

import pytest
import redis.asyncio as aioredis
from edgewhisk_controller.cluster import keys
from edgewhisk_controller.cluster.claims import Claims
from edgewhisk_controller.cluster.routing import Routing
from edgewhisk_controller.cluster.takeover import Takeover
from edgewhisk_controller.tunnel.exceptions import TunnelError
from edgewhisk_devkit import UNLIMITED, Cluster, Redis

from .test_takeover import CODE


def test_a_controller_restarted_within_the_grace_keeps_its_new_work(
        tmp_path: Path, db: str, redis: Redis) -> None:
    """c0 dies; c1 sees it gone and is held (SIGSTOP) past its takeover's grace while c0
    starts again and accepts an activation; c1, let go, would take c0 over: it finds a new
    incarnation and takes nothing, so the activation runs once on c0 and is recorded with
    its result (before: c1 recorded it as lost to a restart while it still ran)."""
    ran = tmp_path / "ran.log"
    ran.touch()
    with Cluster(tmp_path, 2, db=db, redis=redis.uri,
                 options=(*UNLIMITED, "--no-sandbox")) as cluster:
        with cluster[0].client() as c0:
            c0.actions.put("work", {"exec": {"kind": "python:3", "code": CODE},
                                    "limits": {"memory": 128}})
        cluster.kill(0)
        _until(lambda: "controller c0 is gone" in cluster[1].log())
        os.kill(cluster[1].pid, SIGSTOP)
        try:
            cluster[0].start()
            with cluster[0].client() as c0:
                started = c0.actions.start("work", {"sleep": 3.0, "ran": str(ran)})
        finally:
            os.kill(cluster[1].pid, SIGCONT)
        with cluster[0].client() as c0:
            record = c0.activations.wait(started, 30.0)
        time.sleep(1.0)  # c1's takeover, had it run, has recorded by now
        with cluster[1].client() as c1:
            assert c1.activations.get(started) == record
        log = cluster[1].log()
    assert record["response"]["success"] is True, record
    assert record["response"]["result"] == {"done": True}
    assert ran.read_text().split() == [started]
    assert "taking over the activations controller c0 accepted" not in log


def test_a_takeover_is_of_one_incarnation_either_order(redis: Redis) -> None:
    """On a real Redis, without controllers: ``a`` taken over first finds, starting again, who
    took it (its last incarnation is theirs to finish, up to which the taker finishes); ``a``
    starting again first makes a takeover of its dead incarnation a no-op, and the dead one's
    clearing leaves the new incarnation's claims."""
    asked: list[tuple[str, int | None]] = []

    async def recover(dead: str, upto: int | None, via: str | None) -> str:
        asked.append((dead, upto))
        return "done"

    async def scenario() -> None:
        client = aioredis.from_url(redis.uri, decode_responses=True)
        a, b = Takeover("a", client), Takeover("b", client, recover)
        pipe = client.pipeline()
        Claims.publish(pipe, "dev-r", 4096, 0)
        await pipe.execute()
        try:
            first, taker = await a.join()
            assert taker == ""
            assert await b.take_over("a", first)  # a died; taken first
            second, taker = await a.join()  # a starts again: taken over while it was down
            assert (second, taker) == (first + 1, "b")
            assert asked == [("a", first)]
            assert await client.get(keys.takeover("a")) is None  # for its next death
            third, taker = await a.join()  # a died again and started before any takeover
            assert (third, taker) == (second + 1, "")
            assert (await Claims(client, "a").claim("dev-r", 64)).ok  # the new one's
            assert not await b.take_over("a", second)  # of the dead incarnation: refused
            assert "a" not in b.taken and asked == [("a", first)]
            assert await Claims(client).forget("a", second) == 0
            assert await client.hget(keys.claims("dev-r"), "claimed:a") == "64"
            assert not await b.take_over("a", second)  # tried once per incarnation
            assert await b.take_over("a", third)  # its new incarnation dies in turn
            assert asked == [("a", first), ("a", third)]
        finally:
            await a.close()
            await b.close()
            await client.aclose()

    asyncio.run(scenario())


def _until(done: object, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not done() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.05)
    assert done(), "timed out"  # type: ignore[operator]


def test_a_restart_keeps_the_answers_its_last_incarnations_taker_reads(redis: Redis) -> None:
    """A holder answered controller ``a`` about a run ``a`` forwarded, after ``a`` died;
    ``a`` starts again before its taker read the answer (``Routing.reply_to`` reads the
    dead one's reply stream): the new incarnation reads only what comes after its start,
    and the answer is still there for the taker (before, the restart deleted the stream:
    the taker waited out its patience and recorded the run lost)."""
    async def scenario() -> None:
        client = aioredis.from_url(redis.uri, decode_responses=True)

        def routing(me: str) -> Routing:
            return Routing(me, client, lambda id: None, Claims(client),
                           corrected=lambda id, free: None)

        holder, restarted, taker = routing("h"), routing("a"), routing("t")
        await holder.answer("a", "act-1", "failed", "it failed on the device")
        reading = asyncio.create_task(restarted.read_replies())  # ``a`` starts again
        try:
            while restarted.last_reply is None:  # its first read is set up
                await asyncio.sleep(0.01)
            with pytest.raises(TunnelError, match="it failed on the device"):
                await taker.reply_to("a", "act-1", "dev", 2.0)
        finally:
            reading.cancel()
            await asyncio.gather(reading, return_exceptions=True)
            for each in (holder, restarted, taker):
                await each.close()
            await client.delete(keys.replies("a"))
            await client.aclose()

    asyncio.run(scenario())
