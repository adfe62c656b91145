"""A result whose send ends after its connection was lost stays unsent (real WebSockets).

Why: a send can wait for the link's lock (a heartbeat being written) while the reader notices
the loss, gives the outbox's unconfirmed results back and registers on a new connection. The
send then completes on the old socket, which the controller no longer reads; counted as sent,
the new connection's first heartbeat echo would confirm a result the controller never got.
"""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web
from edgewhisk_devkit import app_server
from edgewhisk_invoker.activations import Activations
from edgewhisk_invoker.artifacts import DeviceArtifacts
from edgewhisk_invoker.beats import Beats
from edgewhisk_invoker.context import ContextMonitor, NetworkSchedule, NoBattery
from edgewhisk_invoker.link import Link
from edgewhisk_invoker.outbox import Outbox
from edgewhisk_runtime.containers import ContainerPool, ProcessBackend
from edgewhisk_tunnel import Registered, Result, decode, encode

REGISTERED = Registered("dev", heartbeat_s=1.0, offline_after_s=5.0, protocol=2)


async def scenario() -> tuple[list[str], list[list[object]]]:
    received: list[list[object]] = []

    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        frames: list[object] = []
        received.append(frames)
        async for message in ws:
            frames.append(decode(message.data))
        return ws

    app = web.Application()
    app.router.add_get("/", handle)
    async with app_server(app) as url:
        # the agent's own parts, wired as Agent wires them (no controller: the race is staged)
        pool = ContainerPool(ProcessBackend(), memory_mb=256)
        artifacts = DeviceArtifacts(None, "dev")
        link, outbox, tasks = Link(2), Outbox(), set()
        beats = Beats(pool, artifacts, outbox, link, tasks.add)
        activations = Activations("dev", pool, artifacts,
                                  ContextMonitor(NoBattery(), NetworkSchedule([])), link, outbox,
                                  beats, tasks.add, stopping=asyncio.Event())
        try:
            async with aiohttp.ClientSession() as session:
                old = await session.ws_connect(f"{url}/")
                new = await session.ws_connect(f"{url}/")
                link.ws = old
                link.up(REGISTERED)
                outbox.add("aid", [encode(Result("aid", error="x"))])
                # a heartbeat being written: the flush waits
                await link._lock.acquire()  # noqa: SLF001
                flush = asyncio.ensure_future(activations.flush())
                for _ in range(5):
                    await asyncio.sleep(0)
                # the reader's loss and the next registration, while the send waits
                link.down()
                outbox.connection_lost()
                link.ws = new
                link.up(REGISTERED)
                link._lock.release()  # noqa: SLF001
                await flush
                unsent_after_race = [p.activation_id for p in outbox.unsent()]
                # the new connection's echo confirms nothing
                assert outbox.confirmed(10**6) == []
                await activations.flush()  # the next flush: on the new connection
                assert outbox.awaiting()
                await old.close()
                await new.close()
                for _ in range(50):
                    if len(received) == 2 and all(received):
                        break
                    await asyncio.sleep(0.02)
        finally:
            await pool.close()
    return unsent_after_race, received


def test_a_send_that_ends_after_its_connection_was_lost_leaves_the_result_unsent() -> None:
    unsent, (on_old, on_new) = asyncio.run(scenario())
    assert unsent == ["aid"]
    assert [type(m).__name__ for m in on_old] == ["Result"]  # the old socket got it, unread
    assert [m.activation_id for m in on_new] == ["aid"]  # type: ignore[attr-defined]
