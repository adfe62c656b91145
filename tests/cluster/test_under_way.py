"""A wait begun while the event that should end it is under way (real Redis, deterministic):
each test forces the interleaving a loaded machine makes rare, the event first."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis
from edgewhisk_controller.cluster import keys, takeover
from edgewhisk_controller.cluster.takeover import Takeover
from edgewhisk_devkit import Redis


def test_a_takeover_asked_while_one_is_under_way_returns_once_it_is_done(
        redis: Redis) -> None:
    """A dead controller's device registers here while this controller's own takeover of
    it (``Takeover.later``) is claiming or recovering: the registration's ``take_over``
    returns once that one is done, knowing who took it over, the recovery finished (the
    device's runs reclaimed here, or adopted for the taker), not at once knowing nothing
    (the device's held results were then dropped, and the taker waited out its window)."""
    recovered: list[str] = []

    async def scenario() -> tuple[bool, str | None, list[str]]:
        client = aioredis.from_url(redis.uri, decode_responses=True)
        recovering, release = asyncio.Event(), asyncio.Event()

        async def recover(dead: str, upto: int | None, via: str | None) -> str:
            recovering.set()
            await release.wait()
            recovered.append(dead)
            return "done"

        takeover = Takeover("c1", client, recover)

        async def registering() -> tuple[bool, str | None, list[str]]:
            took = await takeover.take_over("c0")
            return took, takeover.taken.get("c0"), list(recovered)

        try:
            first = asyncio.create_task(takeover.take_over("c0"))
            await recovering.wait()
            second = asyncio.create_task(registering())
            for _ in range(5):  # the second runs as far as it goes before the first ends
                await asyncio.sleep(0)
            release.set()
            assert await asyncio.wait_for(first, 10)
            seen = await asyncio.wait_for(second, 10)
            await takeover.close()
            return seen
        finally:
            await client.delete(keys.takeover("c0"), keys.taken("c1"))
            await client.aclose()

    assert asyncio.run(scenario()) == (False, "c1", ["c0"])


def test_a_controller_seen_again_within_the_grace_is_not_taken_over(
        redis: Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    """c0 was seen gone (its connections closed: re-dialled, not a death), and live again
    before the grace ended: the takeover decided when it was seen gone is dropped, not
    claimed (it would finish c0's accepted work beside c0, each run twice)."""
    monkeypatch.setattr(takeover, "GRACE_S", 0.01)
    asked: list[str] = []
    checked: list[str] = []

    async def scenario() -> str | None:
        client = aioredis.from_url(redis.uri, decode_responses=True)

        async def recover(dead: str, upto: int | None, via: str | None) -> str:
            asked.append(dead)
            return "done"

        def alive(controller: str) -> bool:
            checked.append(controller)
            return True  # seen again

        taking = Takeover("c1", client, recover, alive=alive)
        try:
            taking.later("c0")
            while "c0" not in checked:  # the grace is over: it looks again
                await asyncio.wait_for(asyncio.sleep(0.01), 10)
            for _ in range(5):
                await asyncio.sleep(0)
            await taking.close()
            return await client.get(keys.takeover("c0"))
        finally:
            await client.delete(keys.takeover("c0"), keys.taken("c1"))
            await client.aclose()

    assert asyncio.run(asyncio.wait_for(scenario(), 10)) is None
    assert asked == []
