"""Membership's view of the other controllers (real Redis, deterministic): who is reported gone,
and with which incarnation, whatever this controller saw of them alive."""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio as aioredis
from edgewhisk_controller.cluster import keys
from edgewhisk_controller.cluster.membership import Membership
from edgewhisk_controller.invokers import InvokerRegistry
from edgewhisk_controller.placement import Engine, PlacementConfig
from edgewhisk_devkit import Redis


def _membership(me: str, incarnation: int) -> Membership:
    """A controller's membership holding no device (nothing is forwarded)."""
    membership = Membership(me, InvokerRegistry(), Engine(PlacementConfig()), forwarder=None,
                            local=list, is_local=lambda id: False)  # type: ignore[arg-type]
    membership.incarnation = incarnation
    return membership


async def _joined_and_died(redis: Redis, me: str, incarnation: int) -> None:
    """``me`` publishes its entry on its own named connections, then dies (they close)
    before anyone else refreshes."""
    client = aioredis.from_url(redis.uri, decode_responses=True,
                               client_name=keys.client_name(me))
    try:
        await _membership(me, incarnation).publish(client)
    finally:
        await client.aclose()


def test_a_controller_dead_before_it_was_ever_seen_live_is_reported_gone_once(
        redis: Redis) -> None:
    """c1 joins (publishes) and dies within one publication of c0's, so c0 never sees it
    live: c0 reports it gone with the incarnation its entry names (its takeover claims
    that one), once, and again when c1 starts anew and dies unseen again. Before, only a
    change from live to gone was a death: c1's accepted work was never taken over."""
    async def scenario() -> list[tuple[str, Any]]:
        client = aioredis.from_url(redis.uri, decode_responses=True,
                                   client_name=keys.client_name("c0"))
        c0 = _membership("c0", 1)
        reported: list[tuple[str, Any]] = []
        c0.on_gone.append(lambda dead: reported.append((dead, c0.incarnations.get(dead))))
        try:
            await c0.publish(client)
            await c0.refresh(client)  # c1 not there yet
            await _joined_and_died(redis, "c1", 4)
            await c0.refresh(client)
            await c0.refresh(client)  # reported once, not at every refresh
            await _joined_and_died(redis, "c1", 5)  # started again, died unseen again
            await c0.refresh(client)
            assert c0.live == ("c0",)
            return reported
        finally:
            await client.delete(keys.MEMBERS, keys.alive("c0"), keys.alive("c1"))
            await client.aclose()

    assert asyncio.run(scenario()) == [("c1", 4), ("c1", 5)]


def test_a_controller_seen_live_then_dead_is_reported_once_with_the_incarnation_seen_live(
        redis: Redis) -> None:
    """The death seen as a change still counts once, named by the incarnation seen live,
    and a controller back live (the same incarnation: its connections re-dialled) and dead
    again is reported again."""
    async def scenario() -> list[tuple[str, Any]]:
        client = aioredis.from_url(redis.uri, decode_responses=True,
                                   client_name=keys.client_name("c0"))
        c1_client = aioredis.from_url(redis.uri, decode_responses=True,
                                      client_name=keys.client_name("c1"))
        c0, c1 = _membership("c0", 1), _membership("c1", 2)
        reported: list[tuple[str, Any]] = []
        c0.on_gone.append(lambda dead: reported.append((dead, c0.incarnations.get(dead))))
        try:
            await c0.publish(client)
            await c1.publish(c1_client)
            await c0.refresh(client)
            assert c0.live == ("c0", "c1")
            await c1_client.aclose()  # its connections closed
            await c0.refresh(client)
            await c0.refresh(client)
            await c1.publish(c1_client)  # re-dialled: live again
            await c0.refresh(client)
            assert c0.live == ("c0", "c1")
            await c1_client.aclose()
            await c0.refresh(client)
            return reported
        finally:
            await client.delete(keys.MEMBERS, keys.alive("c0"), keys.alive("c1"))
            await client.aclose()
            await c1_client.aclose()

    assert asyncio.run(scenario()) == [("c1", 2), ("c1", 2)]
