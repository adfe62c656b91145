"""A holder that dies with forwarded activations (real Redis): one it had read from its stream
may have run (maybe started: at most once), one it never read did not (placed again)."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis
from edgewhisk_controller.cluster import keys
from edgewhisk_controller.cluster.claims import Claims
from edgewhisk_controller.cluster.peer import PeerInvoker
from edgewhisk_controller.cluster.routing import Routing
from edgewhisk_controller.placement.interface import InvokerState
from edgewhisk_controller.tunnel.exceptions import InvokerLost
from edgewhisk_devkit import Redis


async def _sent(routing: Routing, activation_id: str) -> None:
    while routing.waiting.get(activation_id) is None or \
            routing.waiting[activation_id].entry is None:
        await asyncio.sleep(0.01)


def test_what_a_dead_holder_never_read_counts_as_not_started(redis: Redis) -> None:
    uri = redis.uri
    async def scenario() -> tuple[InvokerLost, InvokerLost]:
        client = aioredis.from_url(uri, decode_responses=True)
        try:
            await client.xgroup_create(keys.runs("h"), keys.GROUP, id="$", mkstream=True)
            routing = Routing("r", client, lambda id: None, Claims(client),
                              corrected=lambda id, free: None)
            peer = PeerInvoker(routing, "h", InvokerState("dev", frozenset({"python:3"}),
                                                          512, 512, 0))
            read = asyncio.create_task(routing.forward(peer, "a1", "{}", 30.0, 128))
            await _sent(routing, "a1")
            await client.xreadgroup(keys.GROUP, "h", {keys.runs("h"): ">"}, count=1)
            unread = asyncio.create_task(routing.forward(peer, "a2", "{}", 30.0, 128))
            await _sent(routing, "a2")
            routing.holder_gone("h")
            errors = []
            for task in (read, unread):
                with pytest.raises(InvokerLost) as lost:
                    await task
                errors.append(lost.value)
            await routing.close()
            return errors[0], errors[1]
        finally:
            await client.delete(keys.runs("h"))
            await client.aclose()

    read, unread = asyncio.run(scenario())
    assert read.maybe_started and "its controller h is gone" in read.why
    assert not unread.maybe_started and "before reading the activation" in unread.why
