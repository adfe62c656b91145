"""Optimistic claims on a device's memory (real Redis): exactly what fits is claimed, the rest
conflicts; the consistent-hash ring shares namespaces evenly and moves few when a controller
goes; and through controllers, two placements racing for one device's memory never both run."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import redis.asyncio
from edgewhisk_controller.cluster import keys
from edgewhisk_controller.cluster.claims import Claims
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
            assert await other.forget("c0") == 1  # its memory: free for a run again
            assert (await other.claim("dev", 128)).ok
            assert await mine.forget("c1") == 1
            assert await one.hgetall(keys.claims("dev")) == {"capacity": "256", "local": "128"}
        finally:
            await one.delete(keys.claims("dev"))
            await one.aclose()

    asyncio.run(queue())


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


def test_two_controllers_racing_for_one_device_never_overcommit_it(
        tmp_path: Path, db: str, redis: Redis) -> None:
    code = "import time\ndef main(args):\n    time.sleep(2)\n    return {'ok': True}\n"
    with Cluster(tmp_path, 3, db=db, redis=redis.uri,
                 options=("--invokers", "0", *UNLIMITED)) as cluster, \
            cluster[0].client() as c0, cluster[1].client() as c1, cluster[2].client() as c2:
        device = agent(cluster, c1, "small", [1], tmp_path, "--memory", "256")
        try:
            device.wait_registered()
            c0.actions.put("hog", {"exec": {"kind": "python:3", "code": code},
                                   "limits": {"memory": 256}})
            owners = {c.json("GET", "cluster")["owner"] for c in (c0, c1, c2)}
            assert len(owners) == 1 and owners <= {"c0", "c1", "c2"}
            for client in (c0, c2):  # both see the device as a peer before the race
                wait_for_peer(client, "small")
            records: list[dict[str, object]] = []
            racers = [threading.Thread(target=lambda c=c: records.append(
                c.actions.invoke("hog").record)) for c in (c0, c2)]
            for racer in racers:
                racer.start()
            for racer in racers:
                racer.join()
            claims = [c.json("GET", "cluster") for c in (c0, c2)]
        finally:
            device.stop()
    done = [r for r in records if r["response"]["success"]]  # type: ignore[index]
    assert len(done) == 1, records
    assert sum(int(c["claims"]) for c in claims) >= 1


def test_a_run_queued_knowingly_on_a_peers_full_device_waits_there_without_conflict(
        tmp_path: Path, db: str, redis: Redis) -> None:
    """c0 places a second run on c1's device while its view shows the device full: with
    ``queue_limit`` placement's decision to queue is claimed as a waiting slot, and both run
    (with the default 0 the second claim conflicts on every re-placement and fails)."""
    code = "import time\ndef main(args):\n    time.sleep(2)\n    return {'ok': True}\n"
    config = tmp_path / "placement.json"
    config.write_text(json.dumps({"queue_limit": 1}))
    with Cluster(tmp_path, 2, db=db, redis=redis.uri,
                 options=("--invokers", "0", *UNLIMITED, "--placement-config", str(config))) \
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
