"""A taker's takeovers, inherited from its set on a real Redis (``cluster/takeover.py``).

Deterministic and without controllers (the end-to-end case, a taker SIGKILLed while it waits,
is ``test_takeover.py``'s): ``Takeover`` objects of made-up controllers on one Redis, each
``recover`` a callable that notes what it was asked to finish. Among thousands of unrelated
keys (and takeover keys of another taker), the controller taking a dead taker over finishes
exactly what that taker had claimed, and what that taker had inherited in turn, and their
claims on a device are dropped, without a SCAN: Redis's own command statistics (``INFO
commandstats``, which counts the commands a Lua script runs) say which commands ran.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import redis as redis_py
import redis.asyncio as aioredis
from edgewhisk_controller.cluster import keys
from edgewhisk_controller.cluster.claims import Claims
from edgewhisk_controller.cluster.routing import Routing
from edgewhisk_controller.cluster.takeover import CLAIM_TTL_S, TAKE, Takeover
from edgewhisk_devkit import Redis

UNRELATED = 5_000
DEAD = 20


async def _commands(client: aioredis.Redis) -> dict[str, int]:
    """How often each command ran since the last ``CONFIG RESETSTAT``."""
    stats: dict[str, Any] = await client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}


def test_a_dead_takers_takeovers_are_inherited_from_its_set_without_a_scan(
        redis: Redis) -> None:
    asked: list[tuple[str, str, str | None]] = []  # (who, dead, via)

    async def scenario() -> dict[str, int]:
        client = aioredis.from_url(redis.uri, decode_responses=True)

        def taker(me: str) -> Takeover:
            async def recover(dead: str, upto: int | None, via: str | None) -> str:
                asked.append((me, dead, via))
                return "done"
            return Takeover(me, client, recover)

        t0, t1, t2, t3 = (taker(me) for me in ("t0", "t1", "t2", "t3"))
        pipe = client.pipeline()
        Claims.publish(pipe, "dev", 4096, 0)
        await pipe.execute()
        try:
            for claimant in ("d0", "d1", "t0", "live"):  # each held memory on dev
                assert (await Claims(client, claimant).claim("dev", 64)).ok
            assert await t0.take_over("d0") and await t0.take_over("d1")
            assert await t2.take_over("d2")  # another (live) taker's: not t0's to pass on
            assert not await t1.take_over("d0")  # claimed: t1 learns who has it
            assert t1.taken["d0"] == "t0"
            assert await client.smembers(keys.taken("t0")) == {"d0", "d1"}
            assert await client.ttl(keys.taken("t0")) > CLAIM_TTL_S - 60
            await client.config_resetstat()
            asked.clear()
            assert await t1.take_over("t0")  # t0 died: t1 finishes t0's and t0's takeovers
            deadline = asyncio.get_running_loop().time() + 10
            while set(await client.hkeys(keys.claims("dev"))) != {"capacity", "local",
                                                                   "claimed:live"}:
                assert asyncio.get_running_loop().time() < deadline, \
                    await client.hgetall(keys.claims("dev"))
                await asyncio.sleep(0.01)  # their claims, dropped after their recovery
            ran = await _commands(client)
            assert sorted(asked) == [("t1", "d0", "t0"), ("t1", "d1", "t0"), ("t1", "t0", None)]
            for dead in ("d0", "d1", "t0"):
                assert await client.get(keys.takeover(dead)) == "t1"
            assert await client.get(keys.takeover("d2")) == "t2"
            assert await client.exists(keys.taken("t0")) == 0
            assert await client.smembers(keys.taken("t1")) == {"d0", "d1", "t0"}
            asked.clear()
            assert await t3.take_over("t1")  # t1 died in turn: all it held passes on
            assert sorted(asked) == [("t3", "d0", "t1"), ("t3", "d1", "t1"),
                                     ("t3", "t0", "t1"), ("t3", "t1", None)]
            assert await client.smembers(keys.taken("t3")) == {"d0", "d1", "t0", "t1"}
            return ran
        finally:
            for takeover in (t0, t1, t2, t3):
                await takeover.close()
            await client.aclose()

    with redis_py.Redis.from_url(redis.uri, decode_responses=True) as shared:
        shared.flushall()  # this module's Redis: nothing else in it
        shared.mset({f"unrelated:{i}": "t0" for i in range(UNRELATED)})
        try:
            ran = asyncio.run(scenario())
        finally:
            shared.flushall()
    assert "scan" not in ran and "keys" not in ran, ran
    assert ran["smembers"] >= 1, ran  # t0's set was read (and the sets of claims)


def test_a_taker_dying_right_after_its_claim_passes_on_what_the_dead_had_taken(
        redis: Redis) -> None:
    """t1 claims d (which had taken x over) and dies before recovering anything; t2 takes t1
    over and finishes t1, d and x, and x's claim names t2. Also from a state where d's own
    set was never moved to t1's (as the claim and the inheritance once were two calls): the
    inheritance follows each inherited controller's set."""
    asked: list[tuple[str, str, str | None]] = []

    async def scenario(client: aioredis.Redis) -> None:

        def taker(me: str, dies: bool = False) -> Takeover:
            async def recover(dead: str, upto: int | None, via: str | None) -> str:
                if dies:
                    raise RuntimeError(f"{me} died")
                asked.append((me, dead, via))
                return "done"
            return Takeover(me, client, recover)

        d, t1, t2 = taker("d"), taker("t1", dies=True), taker("t2")
        try:
            assert await d.take_over("x")
            asked.clear()
            try:
                await t1.take_over("d")
            except RuntimeError:
                pass  # t1 died right after its claim, before any recovery
            assert await client.get(keys.takeover("x")) == "t1"  # inherited with the claim
            assert await t2.take_over("t1")
            assert sorted(asked) == [("t2", "d", "t1"), ("t2", "t1", None), ("t2", "x", "t1")]
            for dead in ("x", "d", "t1"):
                assert await client.get(keys.takeover(dead)) == "t2"

            # the older state: t1's claim of d in t1's set, d's takeover of x still in d's
            await client.flushall()
            await client.set(keys.takeover("x"), "d", ex=CLAIM_TTL_S)
            await client.sadd(keys.taken("d"), "x")
            await client.set(keys.takeover("d"), "t1", ex=CLAIM_TTL_S)
            await client.sadd(keys.taken("t1"), "d")
            asked.clear()
            t3 = taker("t3")
            try:
                assert await t3.take_over("t1")
            finally:
                await t3.close()
            assert sorted(asked) == [("t3", "d", "t1"), ("t3", "t1", None), ("t3", "x", "d")]
            assert await client.get(keys.takeover("x")) == "t3"
            assert await client.smembers(keys.taken("t3")) == {"t1", "d", "x"}
            assert await client.exists(keys.taken("d"), keys.taken("t1")) == 0
        finally:
            for takeover in (d, t1, t2):
                await takeover.close()

    _on_an_empty_redis(redis, scenario)


def test_a_claim_whose_answer_was_lost_is_taken_again_by_its_holder(redis: Redis) -> None:
    """The claim's script ran but its answer never came back (Redis away on the way): the
    same controller, trying again, takes its own claim and finishes the work; any other
    still sees it held."""
    asked: list[str] = []

    async def scenario(client: aioredis.Redis) -> None:

        async def recover(dead: str, upto: int | None, via: str | None) -> str:
            asked.append(dead)
            return "done"

        again, other = (Takeover(me, client, recover) for me in ("t", "u"))
        try:
            await client.register_script(TAKE)(  # t's claim ran; its answer was lost
                keys=[keys.takeover("d"), keys.taken("t"), keys.incarnation("d")],
                args=["t", CLAIM_TTL_S, "d", "", keys.takeover(""), keys.taken(""),
                      keys.incarnation("")])
            assert not await other.take_over("d") and other.taken["d"] == "t"
            assert await again.take_over("d")
            assert asked == ["d"]
        finally:
            for takeover in (again, other):
                await takeover.close()

    _on_an_empty_redis(redis, scenario)


def test_a_dead_controllers_streams_expire_once_its_work_is_finished(redis: Redis) -> None:
    """DEAD controllers die, each leaving a run stream (its group, an entry it read and never
    answered) and a reply stream (answers sent to it), and are taken over one by one: all
    they leave in Redis expires but their incarnation counters (which never do), so the
    keyspace does not grow by two streams per controller id that ever died. One that starts
    again under its id while its takeover runs keeps its streams, and so does one that starts
    again after: they are its own (a run stream expiring under a live holder would take its
    consumer group with it)."""
    dead = [f"d{i}" for i in range(DEAD)]

    async def scenario(client: aioredis.Redis) -> None:
        holder = Routing("h", client, lambda id: None, Claims(client),
                         corrected=lambda id, free: None)

        async def recover(controller: str, upto: int | None, via: str | None) -> str:
            if controller == "back":  # it starts again while its work is being finished
                await Takeover("back", client).join()
            return "done"

        for controller in (*dead, "back"):
            await _died(client, holder, controller)
        taker = Takeover("t", client, recover, incarnation=lambda controller: 1)
        try:
            for controller in (*dead, "back"):
                assert await taker.take_over(controller)
            deadline = asyncio.get_running_loop().time() + 10
            while await client.hkeys(keys.MEMBERS) != ["back"]:  # cleared after recovery
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.01)
        finally:
            await taker.close()
        kept = {key for key in await client.keys(keys.PREFIX + "*")
                if await client.ttl(key) == -1}
        assert kept == {keys.incarnation(c) for c in (*dead, "back")} | {
            keys.MEMBERS, keys.runs("back"), keys.replies("back")}
        for controller in dead:
            for stream in (keys.runs(controller), keys.replies(controller)):
                assert 0 < await client.ttl(stream) <= CLAIM_TTL_S
        await Takeover(dead[0], client).join()  # it starts again: its streams are its own
        assert await client.ttl(keys.runs(dead[0])) == await client.ttl(
            keys.replies(dead[0])) == -1

    _on_an_empty_redis(redis, scenario)


async def _died(client: aioredis.Redis, holder: Routing, controller: str) -> None:
    """``controller`` started (its incarnation 1, its entry), forwarded an activation that
    ``holder`` answered, and read a run it never answered: then it died."""
    await Takeover(controller, client).join()
    await client.hset(keys.MEMBERS, controller, "{}")
    await holder.answer(controller, f"for-{controller}", "lost", "its device went away")
    stream = keys.runs(controller)
    await client.xgroup_create(stream, keys.GROUP, id="$", mkstream=True)
    await client.xadd(stream, {"frame": "{}", "device": "dev", "reply": "h"})
    await client.xreadgroup(keys.GROUP, controller, {stream: ">"}, count=1)


def _on_an_empty_redis(redis: Redis,
                       scenario: Callable[[aioredis.Redis], Awaitable[None]]) -> None:
    """Run ``scenario`` with a client of this module's Redis, emptied before and after."""
    async def run() -> None:
        client = aioredis.from_url(redis.uri, decode_responses=True)
        try:
            await scenario(client)
        finally:
            await client.aclose()

    with redis_py.Redis.from_url(redis.uri, decode_responses=True) as shared:
        shared.flushall()
        try:
            asyncio.run(run())
        finally:
            shared.flushall()
