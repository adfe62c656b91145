"""A small real tunnel server for the agent's tests: aiohttp WebSockets on loopback, speaking
``edgewhisk_tunnel`` (decode/encode, the same schema as the controller), in a thread.

It answers ``register`` with ``registered``, echoes heartbeats, records every message with the
number of the connection it came on, and lets a test send frames, drop the connection (the TCP
transport aborted, as a cut link would), and refuse handshakes for a while (controller down).

Artifacts: each connection has a real ``Transfers``; the agent's pulls are served from
``blobs`` (key -> bytes; ``refuse`` maps a key to a refusal reason, ``lie`` serves a wrong
sha256), its uploads land in ``uploads``; :meth:`push` preloads and :meth:`pull` fetches from
the agent like the controller would.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from edgewhisk_runtime.local import free_port
from edgewhisk_tunnel import (
    MAX_FRAME_BYTES,
    ArtifactGet,
    ArtifactOffer,
    CloseCode,
    Heartbeat,
    Message,
    Register,
    Registered,
    decode,
    encode,
)
from edgewhisk_tunnel.messages import AUTH_SCHEME, TUNNEL_PATH
from edgewhisk_tunnel.transfers import Incoming, Outgoing, TransferRefused, Transfers
from tunnel.wire import send_message

WAIT_S = 60.0


@dataclass(frozen=True)
class Received:
    connection: int
    message: Message


class TunnelServer:
    def __init__(self, token: str = "device-token", *, heartbeat_s: float = 0.3,
                 offline_after_s: float = 5.0) -> None:
        self.token = token
        self.heartbeat_s = heartbeat_s
        self.offline_after_s = offline_after_s
        self.port = free_port()
        self.received: list[Received] = []
        self.closes: list[tuple[int, int | None]] = []   # (connection, close code)
        self.handshakes = 0
        self.refusing = False
        self.echo = True     # answer the agent's heartbeats (which confirm its results)
        self.protocol = 1  # what registered says this connection speaks
        self.version_1 = False  # refuse a register of another protocol, as a version-1
        #                         controller does (its schema's reason, its close code)
        self.blobs: dict[str, bytes] = {}
        self.refuse: dict[str, str] = {}
        self.lie: set[str] = set()
        self.uploads: dict[str, bytes] = {}
        self.transfers: Transfers | None = None
        self._connections = 0
        self._ws: web.WebSocketResponse | None = None
        self._transport: asyncio.BaseTransport | None = None  # the current connection's TCP
        self._cond = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> TunnelServer:
        self._thread.start()
        self._call(self._start())
        return self

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get(TUNNEL_PATH, self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    def stop(self) -> None:
        if self._runner is not None:
            self._call(self._runner.cleanup())
            self._runner = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(WAIT_S)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.handshakes += 1
        if self.refusing:
            raise web.HTTPServiceUnavailable(text="down for the test")
        if request.headers.get("Authorization") != f"{AUTH_SCHEME} {self.token}":
            raise web.HTTPUnauthorized(text="bad token")
        ws = web.WebSocketResponse(max_msg_size=MAX_FRAME_BYTES)
        await ws.prepare(request)
        self._connections += 1
        number = self._connections
        self._ws, self._transport = ws, request.transport

        async def send(message: Message) -> bool:
            if ws.closed:
                return False
            await send_message(ws, message)
            return True

        self.transfers = transfers = Transfers(send, on_request=self._serve,
                                               on_offer=self._accept)
        async for frame in ws:
            message = decode(frame.data)
            self._record(number, message)
            if transfers.handle(message):
                continue
            if isinstance(message, Register) and self.version_1 and message.protocol != 1:
                await ws.close(code=CloseCode.PROTOCOL_ERROR, message=(
                    f"register.protocol {message.protocol} is not supported (need 1)").encode())
            elif isinstance(message, Register):
                await ws.send_str(encode(Registered(message.id, self.heartbeat_s,
                                                    self.offline_after_s,
                                                    protocol=self.protocol)))
            elif (isinstance(message, Heartbeat) and message.echo_ms is None and self.echo
                  and not message.quiet):
                await ws.send_str(encode(message.reply(int(time.monotonic() * 1000))))
        await transfers.close()
        with self._cond:
            self.closes.append((number, ws.close_code))
            self._cond.notify_all()
        return ws

    async def _serve(self, get: ArtifactGet) -> Outgoing:
        if get.ref in self.refuse:
            raise TransferRefused(self.refuse[get.ref])
        if get.ref not in self.blobs:
            raise TransferRefused(f"artifact {get.ref} is not in the test server")
        data = self.blobs[get.ref]
        sha = hashlib.sha256(b"lie" if get.ref in self.lie else data).hexdigest()

        async def chunks() -> Any:
            yield data

        return Outgoing(len(data), sha, "bytes", chunks())

    async def _accept(self, offer: ArtifactOffer, incoming: Incoming) -> None:
        self.uploads[offer.ref] = b"".join([chunk async for chunk in incoming.chunks()])
        with self._cond:
            self._cond.notify_all()

    def push(self, offer: ArtifactOffer, data: bytes) -> None:
        """Preload ``data`` to the agent (raises what the push raised)."""
        async def push() -> None:
            assert self.transfers is not None

            async def chunks() -> Any:
                yield data
            await self.transfers.push(offer, chunks())
        self._call(push())

    def pull(self, ref: str) -> bytes:
        """Fetch ``ref`` from the agent's store (raises TransferRefused/TransferError)."""
        async def pull() -> bytes:
            assert self.transfers is not None
            incoming = await self.transfers.fetch(ref)
            return b"".join([chunk async for chunk in incoming.chunks()])
        result: bytes = self._call(pull())
        return result

    def _record(self, connection: int, message: Message) -> None:
        with self._cond:
            self.received.append(Received(connection, message))
            self._cond.notify_all()

    # --- what tests call --------------------------------------------------------------------

    def send(self, message: Message) -> None:
        """A frame on the current connection."""
        async def send() -> None:
            assert self._ws is not None
            await send_message(self._ws, message)
        self._call(send())

    def send_text(self, text: str) -> None:
        async def send() -> None:
            assert self._ws is not None
            await self._ws.send_str(text)
        self._call(send())

    def drop(self) -> None:
        """Abort the current connection's TCP transport (no close frame: a cut link)."""
        async def drop() -> None:
            assert isinstance(self._transport, asyncio.Transport)
            self._transport.abort()
        self._call(drop())

    def messages(self, kind: type[Any], connection: int | None = None) -> list[Any]:
        with self._cond:
            return [r.message for r in self.received if isinstance(r.message, kind)
                    and (connection is None or r.connection == connection)]

    def wait(self, predicate: Callable[[TunnelServer], Any], what: str,
             timeout: float = WAIT_S) -> Any:
        """Block until ``predicate(self)`` is truthy (woken on every message); its value."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not (value := predicate(self)):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting for {what}; received "
                                         f"{[r.message.TYPE for r in self.received][-20:]}")
                self._cond.wait(min(left, 0.5))
            return value

    def wait_message(self, kind: type[Any], predicate: Callable[[Any], bool] = lambda m: True,
                     connection: int | None = None, timeout: float = WAIT_S) -> Any:
        def found(server: TunnelServer) -> Any:
            return next((m for m in server.messages(kind, connection) if predicate(m)), None)
        return self.wait(found, f"a {kind.__name__}", timeout)

    @property
    def connections(self) -> int:
        return self._connections
