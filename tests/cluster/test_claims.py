"""Optimistic claims on a device's memory (real Redis): exactly what fits is claimed, the rest
conflicts; the consistent-hash ring shares namespaces evenly and moves few when a controller
goes; and through controllers, two placements racing for one device's memory never both run."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio
from edgewhisk_controller.cluster import keys
from edgewhisk_controller.cluster.claims import NO_BOUND, Claims
from edgewhisk_controller.cluster.ring import Ring
from edgewhisk_devkit import UNLIMITED, Cluster, Redis

from .conftest import agent, wait_for_peer


def test_claims_commit_what_fits_and_count_conflicts(redis: Redis) -> None:
    async def race() -> None:
        one = redis_client(redis)
        two = redis_client(redis)
        try:
            first, second = Claims(one, "c0"), Claims(two, "c1")
            pipe = one.pipeline()
            Claims.publish(pipe, "dev", 512, 128)  # 128 MB held by its holder's own runs
            await pipe.execute()
            claims = await asyncio.gather(*(c.claim("dev", 64) for c in [first, second] * 5))
            assert sum(c.ok for c in claims) == 6  # 128 + 6 * 64 = 512
            assert first.conflicts + second.conflicts == 4
            assert all(c.used_mb == 512 for c in claims if not c.ok)
            assert (first.claims + second.claims, round(first.conflict_rate
                                                        + second.conflict_rate, 1)) == (10, 0.8)
            await first.release("dev", 64)
            assert (await second.claim("dev", 64)).ok
            assert not (await second.claim("dev", 64)).ok
            unknown = await first.claim("nobody", 64)
            assert (unknown.ok, unknown.known) == (False, False)
            # c0 died: what it held is free (how many of the racing claims it won varies:
            # the two connections' commands reach Redis in either order)
            held = sum(c.ok for c in claims[0::2]) - 1  # its wins, less the one released
            assert await second.forget("c0") == 1
            assert [(await second.claim("dev", 64)).ok for _ in range(held + 1)] \
                == [True] * held + [False]
        finally:
            await one.delete(keys.claims("dev"))
            await one.aclose()
            await two.aclose()

    asyncio.run(race())


def test_a_claim_that_queues_knowingly_takes_a_waiting_slot_not_memory(redis: Redis) -> None:
    async def queue() -> None:
        one = redis_client(redis)
        try:
            mine, other = Claims(one, "c0"), Claims(one, "c1")
            pipe = one.pipeline()
            Claims.publish(pipe, "dev", 256, 128)
            await pipe.execute()
            running = await mine.claim("dev", 128, queue=2)  # memory fits: memory taken
            assert (running.ok, running.queued, running.used_mb) == (True, False, 256)
            waits = [await c.claim("dev", 128, queue=2) for c in (mine, other, other)]
            assert [(w.ok, w.queued) for w in waits] == [(True, True)] * 2 + [(False, False)]
            assert (mine.held, other.held) == ({"dev": 128}, {})  # memory, not slots
            assert (await other.claim("dev", 128)).ok is False  # no slot asked: a race lost
            assert (mine.conflicts, other.conflicts) == (0, 2)
            await mine.release("dev", 128, queued=True)  # its slot, not memory, comes back
            assert not (await other.claim("dev", 128)).ok
            assert (await other.claim("dev", 128, queue=2)).queued
            unbounded = [await other.claim("dev", 128, queue=NO_BOUND) for _ in range(5)]
            assert all(c.ok and c.queued for c in unbounded)  # no bound: as its holder queues
            assert await one.hget(keys.claims("dev"), "queued:c1") == "7"
            assert await other.forget("c0") == 1  # its memory: free for a run again
            assert (await other.claim("dev", 128)).ok
            assert await mine.forget("c1") == 1
            assert await one.hgetall(keys.claims("dev")) == {"capacity": "256", "local": "128"}
        finally:
            await one.delete(keys.claims("dev"))
            await one.aclose()

    asyncio.run(queue())


def test_a_dead_claimants_claims_are_dropped_from_its_set_of_devices_without_a_scan(
        redis: Redis) -> None:
    """Claims.forget reads the devices the claimant claimed on (``keys.claimed``), not every
    device's hash: among many devices, only its own fields go, and no SCAN runs (Redis's
    ``INFO commandstats`` counts the commands a script runs)."""
    devices = [f"fdev{i}" for i in range(500)]

    async def forget() -> dict[str, Any]:
        one = redis_client(redis)
        try:
            pipe = one.pipeline()
            for device in devices:
                Claims.publish(pipe, device, 512, 0)
            await pipe.execute()
            dead, live = Claims(one, "f0"), Claims(one, "f1")
            assert (await dead.claim("fdev1", 64)).ok and (await dead.claim("fdev2", 64)).ok
            assert (await dead.claim("fdev2", 512, queue=1)).queued
            assert (await live.claim("fdev2", 64)).ok
            await one.config_resetstat()
            assert await live.forget("f0") == 2
            stats: dict[str, Any] = await one.info("commandstats")
            assert await one.hgetall(keys.claims("fdev2")) == {
                "capacity": "512", "local": "0", "claimed:f1": "64"}
            assert await one.hgetall(keys.claims("fdev1")) == {"capacity": "512", "local": "0"}
            assert await one.exists(keys.claimed("f0")) == 0
            assert await live.forget("f0") == 0  # once is all
            return stats
        finally:
            await one.delete(*(keys.claims(d) for d in devices), keys.claimed("f0"),
                             keys.claimed("f1"))
            await one.aclose()

    stats = asyncio.run(forget())
    assert "cmdstat_scan" not in stats and "cmdstat_keys" not in stats, stats
    assert stats["cmdstat_hdel"]["calls"] == 2, stats  # f0's two devices, not 500


def redis_client(server: Redis) -> redis.asyncio.Redis:
    return redis.asyncio.from_url(server.uri, decode_responses=True)


def test_the_ring_shares_namespaces_evenly_and_moves_few() -> None:
    namespaces = [f"tenant{i}" for i in range(3000)]
    three = Ring(["c0", "c1", "c2"])
    owners = {ns: three.owner(ns) for ns in namespaces}
    shares = [list(owners.values()).count(c) / len(namespaces) for c in three.controllers]
    assert all(0.2 < share < 0.47 for share in shares), shares
    two = Ring(["c0", "c2"])
    moved = [ns for ns in namespaces if two.owner(ns) != owners[ns]]
    assert {owners[ns] for ns in moved} == {"c1"}  # only c1's namespaces move
    assert Ring(["c2", "c0", "c1"]).owner("tenant7") == owners["tenant7"]


TIMED = ("import time\ndef main(args):\n    start = time.time()\n    time.sleep(2)\n"
         "    return {'start': start, 'end': time.time()}\n")
"""Sleeps 2 s; answers when it ran, so a test sees whether two runs shared the device."""


@pytest.mark.parametrize("limit, controllers, succeeded", [
    pytest.param(None, 1, 2, id="one controller: the second run queues on the device"),
    pytest.param(None, 3, 2, id="default queue_limit: the loser queues, as with one"),
    pytest.param(0, 3, 1, id="queue_limit 0: the loser is refused"),
])
def test_two_placements_racing_for_one_device_never_overcommit_it(
        tmp_path: Path, db: str, redis: Redis, limit: int | None, controllers: int,
        succeeded: int) -> None:
    """Two invokes at once of an action that needs all of a device's memory: never both on it
    at once. Through two controllers that hold only a view of the device, one claim wins and
    the loser's conflict corrects its view; placed again, knowing the device full, it queues
    there (the default) as it does through the one controller holding the device, or, with
    ``queue_limit`` 0, conflicts again and fails."""
    config = tmp_path / "placement.json"
    config.write_text(json.dumps({} if limit is None else {"queue_limit": limit}))
    with Cluster(tmp_path, controllers, db=db, redis=redis.uri if controllers > 1 else None,
                 options=("--invokers", "0", *UNLIMITED, "--placement-config", str(config))) \
            as cluster, contextlib.ExitStack() as stack:
        clients = [stack.enter_context(c.client()) for c in cluster.controllers]
        held_by = 1 if controllers > 1 else 0
        device = agent(cluster, clients[held_by], "small", [held_by], tmp_path,
                       "--memory", "256")
        try:
            device.wait_registered()
            clients[0].actions.put("hog", {"exec": {"kind": "python:3", "code": TIMED},
                                           "limits": {"memory": 256}})
            racing = [stack.enter_context(cluster[i].client())  # c0 and c2, peers of c1,
                      for i in (0, -1)]  # or the one controller twice
            if controllers > 1:
                owners = {c.json("GET", "cluster")["owner"] for c in clients}
                assert len(owners) == 1 and owners <= {"c0", "c1", "c2"}
                for client in racing:  # both see the device as a peer before the race
                    wait_for_peer(client, "small")
            records: list[dict[str, Any]] = []
            racers = [threading.Thread(target=lambda c=c: records.append(
                c.actions.invoke("hog").record)) for c in racing]
            for racer in racers:
                racer.start()
            for racer in racers:
                racer.join()
            claims = [c.json("GET", "cluster") for c in racing] if controllers > 1 else []
        finally:
            device.stop()
    ran = sorted((r["response"]["result"]["start"], r["response"]["result"]["end"])
                 for r in records if r["response"]["success"])
    assert len(ran) == succeeded, records
    assert all(earlier[1] <= later[0] for earlier, later in zip(ran, ran[1:], strict=False)), ran
    assert sum(int(c["claims"]) for c in claims) >= (controllers > 1)


def test_a_run_queued_knowingly_on_a_peers_full_device_waits_there_without_conflict(
        tmp_path: Path, db: str, redis: Redis) -> None:
    """c0 places a second run on c1's device while its view shows the device full: placement's
    decision to queue is claimed as a waiting slot (``queue_limit`` sets no bound by default),
    and both run (with ``queue_limit`` 0 the second claim conflicts on every re-placement and
    fails)."""
    code = "import time\ndef main(args):\n    time.sleep(2)\n    return {'ok': True}\n"
    with Cluster(tmp_path, 2, db=db, redis=redis.uri, options=("--invokers", "0", *UNLIMITED)) \
            as cluster, cluster[0].client() as c0, cluster[1].client() as c1:
        device = agent(cluster, c1, "small", [1], tmp_path, "--memory", "256")
        try:
            device.wait_registered()
            c0.actions.put("hog", {"exec": {"kind": "python:3", "code": code},
                                   "limits": {"memory": 256}})
            wait_for_peer(c0, "small")
            records: list[dict[str, object]] = []
            first = threading.Thread(target=lambda: records.append(
                c0.actions.invoke("hog").record))
            first.start()
            deadline = time.monotonic() + 10
            while wait_for_peer(c0, "small")["free_memory_mb"] != 0:  # c0 sees it full
                assert time.monotonic() < deadline, "the device never published it full"
                time.sleep(0.05)
            records.append(c0.actions.invoke("hog").record)
            first.join()
            status = c0.json("GET", "cluster")
        finally:
            device.stop()
    assert [r["response"]["success"] for r in records] == [True, True], records  # type: ignore[index]
    assert (status["claims"], status["conflicts"]) == (2, 0)
