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
from edgewhisk_tunnel import Run, RunSpec, encode


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


def test_a_run_sent_to_a_holder_seen_gone_meanwhile_is_not_left_waiting(redis: Redis) -> None:
    """The run was placed on the holder's device before its death was seen, and is sent after
    (``holder_gone`` found nothing waiting then): the requester ends the wait at once, not
    started (the holder never read it), instead of waiting out its patience."""
    uri = redis.uri

    async def scenario() -> InvokerLost:
        client = aioredis.from_url(uri, decode_responses=True)
        routing = Routing("r", client, lambda id: None, Claims(client),
                          corrected=lambda id, free: None, alive=lambda holder: holder != "h")
        try:
            await client.xgroup_create(keys.runs("h"), keys.GROUP, id="$", mkstream=True)
            routing.holder_gone("h")  # seen gone: nothing waits yet
            await asyncio.sleep(0.05)
            with pytest.raises(InvokerLost) as lost:
                await asyncio.wait_for(
                    routing.forward(_peer(routing, "h"), "a1", _run("a1"), 60.0, 128), 10)
            await routing.close()
            return lost.value
        finally:
            await _stopped([], client)

    lost = asyncio.run(scenario())
    assert not lost.maybe_started and "before reading the activation" in lost.why


def test_what_a_requester_counted_not_started_is_never_run_by_the_holder(
        redis: Redis) -> None:
    """The requester saw the holder gone (it died and starts again under its id, or its
    connections were re-dialled) and counted ``a1``, which it had not read, not started:
    placed again elsewhere. The holder's next read must not run it too (at most once):
    it reads ``a2``, sent after, alone."""
    uri = redis.uri

    asked: list[str] = []  # the devices the holder was asked to run something on

    async def scenario() -> InvokerLost:
        client = aioredis.from_url(uri, decode_responses=True)
        r = _routing(client, "r")
        h = Routing("h", client, lambda id: asked.append(id), Claims(client),
                    corrected=lambda id, free: None)  # it holds no device: answers "unsent"
        loops = [asyncio.create_task(r.read_replies())]
        try:
            await client.xgroup_create(keys.runs("h"), keys.GROUP, id="$", mkstream=True)
            first = asyncio.create_task(r.forward(_peer(r, "h"), "a1", _run("a1"), 60.0, 128))
            await _sent(r, "a1")
            r.holder_gone("h")
            with pytest.raises(InvokerLost) as lost:
                await asyncio.wait_for(first, 10)
            loops.append(asyncio.create_task(h.serve()))  # the holder reads on
            with pytest.raises(InvokerLost):  # "not connected to controller h": answered
                await asyncio.wait_for(
                    r.forward(_peer(r, "h"), "a2", _run("a2"), 60.0, 128), 10)
            await h.close()
            await r.close()
            return lost.value
        finally:
            await _stopped(loops, client)

    lost = asyncio.run(scenario())
    assert not lost.maybe_started and "before reading the activation" in lost.why
    assert asked == ["dev"]  # a2 alone


def _routing(client: aioredis.Redis, me: str) -> Routing:
    """A controller's routing whose devices are none of its own (a run it serves is answered
    "not connected to controller ...")."""
    return Routing(me, client, lambda id: None, Claims(client), corrected=lambda id, free: None)


def _peer(routing: Routing, holder: str) -> PeerInvoker:
    return PeerInvoker(routing, holder, InvokerState("dev", frozenset({"python:3"}), 512, 512, 0))


def test_a_holder_restarted_under_its_id_answers_what_its_last_run_read_at_once(
        redis: Redis) -> None:
    """Its previous run read ``a1`` and died without answering; nobody saw it gone (it came
    back first). The new run answers ``a1`` (maybe started) before it reads anything, and
    serves ``a2``, which nobody had read; the stream is left empty."""
    uri = redis.uri

    async def scenario() -> tuple[InvokerLost, InvokerLost, int]:
        client = aioredis.from_url(uri, decode_responses=True)
        r, h = _routing(client, "r"), _routing(client, "h")
        loops: list[asyncio.Task[None]] = []
        try:
            await client.xgroup_create(keys.runs("h"), keys.GROUP, id="$", mkstream=True)
            loops.append(asyncio.create_task(r.read_replies()))
            read = asyncio.create_task(r.forward(_peer(r, "h"), "a1", _run("a1"), 60.0, 128))
            await _sent(r, "a1")
            await client.xreadgroup(keys.GROUP, "h", {keys.runs("h"): ">"}, count=1)
            unread = asyncio.create_task(r.forward(_peer(r, "h"), "a2", _run("a2"), 60.0, 128))
            await _sent(r, "a2")
            loops.append(asyncio.create_task(h.serve()))  # the holder's new run
            errors = []
            for task in (read, unread):
                with pytest.raises(InvokerLost) as lost:
                    await asyncio.wait_for(task, 30)  # under the patience: answered
                errors.append(lost.value)
            await asyncio.wait_for(_served(h, 1), 10)  # a2's deletion, after its answer
            await h.close()
            return errors[0], errors[1], await client.xlen(keys.runs("h"))
        finally:
            await _stopped(loops, client)

    read, unread, left = asyncio.run(scenario())
    assert read.maybe_started and "its controller h restarted while it ran" in read.why
    assert not unread.maybe_started and "not connected to controller h" in unread.why
    assert left == 0  # answered entries are deleted, not only acknowledged


def test_a_holders_stream_holds_only_what_is_in_flight(redis: Redis) -> None:
    """Acknowledged entries stay in a stream until deleted: answered, each is deleted too
    (else the stream grows by a frame per forwarded activation); a malformed one as well."""
    uri = redis.uri

    async def scenario() -> tuple[int, int]:
        client = aioredis.from_url(uri, decode_responses=True)
        r, h = _routing(client, "r"), _routing(client, "h")
        loops = [asyncio.create_task(r.read_replies()), asyncio.create_task(h.serve())]
        try:
            while not await client.exists(keys.runs("h")):  # the group made by serve
                await asyncio.sleep(0.01)
            await client.xadd(keys.runs("h"), {"frame": "not a frame", "reply": "r"})
            for n in range(20):
                with pytest.raises(InvokerLost):
                    await r.forward(_peer(r, "h"), f"a{n}", _run(f"a{n}"), 60.0, 128)
            await asyncio.wait_for(_served(h, 20), 10)  # its last entry's deletion: after
            await h.close()  # the answer (closing at once cancelled it, 19 counted)
            return h.served, await client.xlen(keys.runs("h"))
        finally:
            await _stopped(loops, client)

    served, left = asyncio.run(scenario())
    assert (served, left) == (20, 0)


async def _served(holder: Routing, count: int) -> None:
    """Until ``holder`` has answered, acknowledged and deleted ``count`` entries."""
    while holder.served < count:
        await asyncio.sleep(0.01)


async def _stopped(loops: list[asyncio.Task[None]], client: aioredis.Redis) -> None:
    """The routings' loops stopped, the streams of ``h`` and ``r`` dropped, ``client`` closed."""
    for loop in loops:
        loop.cancel()
    await asyncio.gather(*loops, return_exceptions=True)
    await client.delete(keys.runs("h"), keys.replies("r"))
    await client.aclose()


def _run(activation_id: str) -> str:
    """A run frame as a requester sends it."""
    spec = RunSpec("guest/a@0.0.1", "python:3", "def main(a): return a", False, "main", None,
                   {}, 128, 60_000, 1)
    return encode(Run(activation_id, spec, {}, {}))
