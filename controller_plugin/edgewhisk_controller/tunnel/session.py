"""Session: one device's WebSocket connection, read by exactly one task.

The aiohttp handler task is the reader (a registration, which the hub may hold for seconds,
runs in a task of its own, so that the reader goes on answering the device's pings; a frame
after it waits for it): it decodes every frame through the one schema
(``edgewhisk_tunnel.decode``) and routes it (results and logs to the ``RemoteInvoker`` by
activation id, ``artifact.*`` frames to the session's ``Transfers``, which
``artifact_service.py`` makes).
A frame that is malformed, oversized (aiohttp closes those itself with 1009), binary, out of
order, or foreign (another invoker's id, an activation not given to this one, a chunk beyond
the granted credit or of a transfer never opened) closes THIS connection with a close code and
a reason; nothing else is affected.

The registration deadline is a timer cancelled in ``_stop``; the controller's own heartbeat
(its round-trip probe) rides on its answers to the device's (``RTT_BEATS``). ``close``
is idempotent and bounded by the socket's close timeout.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

from aiohttp import WSMsgType, web
from edgewhisk_tunnel import (
    CODES_KEPT,
    PROTOCOL_VERSION,
    RTT_BEATS,
    AgentLog,
    AgentLogs,
    CloseCode,
    CodeMissing,
    Context,
    Drain,
    Error,
    Heartbeat,
    Logs,
    Message,
    Metrics,
    OfflineAction,
    OfflineKeep,
    OfflineRecord,
    OfflineSynced,
    ProtocolError,
    Register,
    Registered,
    Result,
    Run,
    decode,
    encode,
)
from edgewhisk_tunnel.beats import answer_frame, match_beat
from edgewhisk_tunnel.transfers import Transfers

from .artifact_service import ArtifactService
from .health import clock_ms
from .pending import Foreign
from .recent import Recent
from .remote import RemoteInvoker
from .tokens import DeviceToken

log = logging.getLogger(__name__)

REASON_BYTES = 123
"""RFC 6455: a close frame's reason fits in 123 bytes."""
# The controller's own heartbeat (its round-trip probe) goes out with its answer to the first
# device heartbeat one heartbeat period after registering, then with the answer to the first
# one every ``RTT_BEATS`` periods (why that cadence: ``edgewhisk_tunnel.messages.RTT_BEATS``).
# Why with an answer rather than on a timer of its own: the reader sends the answer anyway, so
# the probe needs no timer and no task per device. A device that stops heartbeating is probed
# no more; it goes offline after ``offline_after_s`` either way.


class Hub(Protocol):
    """What a session needs of the hub (``hub.TunnelHub``)."""

    artifacts: ArtifactService

    async def registered(self, session: Session, message: Register) -> RemoteInvoker: ...

    def disconnected(self, session: Session) -> None: ...

    def round_trip(self, invoker: RemoteInvoker) -> None: ...

    async def offline_sync(self, session: Session, register: Register) -> None: ...

    async def offline_record(self, session: Session, register: Register,
                             record: OfflineRecord) -> None: ...


class Session:
    def __init__(self, hub: Hub, ws: web.WebSocketResponse, token: DeviceToken, *,
                 heartbeat_s: float, offline_after_s: float, peer: str = "") -> None:
        self.hub = hub
        self.ws = ws
        self.token = token
        self.heartbeat_s = heartbeat_s
        self.offline_after_s = offline_after_s
        self.peer = peer
        self.invoker: RemoteInvoker | None = None
        self.transfers: Transfers | None = None  # artifact transfers, once registered
        self.protocol = PROTOCOL_VERSION  # the connection's version, once registered
        # protocol 2: spec keys whose code went out here (the last CODES_KEPT of them)
        self.code_keys: Recent[None] = Recent(CODES_KEPT)
        self.closing = False
        self.close_reason: tuple[int, str] | None = None
        self._seq = 0
        self._probe_due_ms: int | None = None  # the next probe's clock_ms, once registered
        self._probe_sent: tuple[int, float] | None = None  # the last probe's seq, perf_counter
        self._register_timer: asyncio.TimerHandle | None = None
        self._close_task: asyncio.Task[None] | None = None
        self._registering: asyncio.Task[bool] | None = None  # until a later frame awaits it

    def __repr__(self) -> str:
        return f"<Session {self.token.id} from {self.peer or '?'}>"

    # -- the reader -------------------------------------------------------------------------

    async def serve(self) -> None:
        """Read until the connection ends; then tell the hub (always)."""
        loop = asyncio.get_running_loop()
        self._register_timer = loop.call_later(self.offline_after_s, self._no_register)
        try:
            async for msg in self.ws:
                if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):  # binary: artifact.put
                    if not await self._on_frame(msg.data):
                        break
                elif msg.type is WSMsgType.ERROR:
                    log.warning("%r: %s", self, msg.data)
                    break
        finally:
            if self._registering is not None:  # ended first: the hub hears of the end after
                await asyncio.wait([self._registering])  # the device is attached, as before
            self._stop()
            if self.transfers is not None:
                await self.transfers.close()
            self.hub.disconnected(self)

    async def _on_frame(self, frame: str | bytes) -> bool:
        """Handle one frame; False when it closed the connection."""
        if self._registering is not None and not await self._registered():
            return False
        invoker = self.invoker
        try:
            if invoker is not None and type(frame) is str and (beat := match_beat(frame)):
                await self._beat(invoker, *beat)  # most frames read: none built or encoded
            else:
                await self._route(decode(frame))
        except Exception as exc:  # CancelledError is not one
            await self._failed(exc)
            return False
        return True

    async def _failed(self, exc: Exception) -> None:
        """Close this connection as handling a frame failing with ``exc`` calls for."""
        if isinstance(exc, ProtocolError):
            await self.close(exc.close_code, exc.reason)
        elif isinstance(exc, Foreign):
            await self.close(CloseCode.POLICY_VIOLATION, str(exc))
        else:  # a bug here: this connection ends, the controller goes on
            log.error("%r: handling a frame failed", self, exc_info=exc)
            await self.close(CloseCode.INTERNAL_ERROR, "the controller failed handling a frame")

    async def _registered(self) -> bool:
        """The registration under way has ended; False if it closed the connection."""
        registering, self._registering = self._registering, None
        assert registering is not None
        return await registering

    async def _route(self, message: Message) -> None:
        invoker = self.invoker
        if isinstance(message, Register):
            if invoker is not None:
                raise ProtocolError("register: this connection is registered already")
            # its own task: the hub may hold a registration for seconds (the device's last
            # controller's death confirmed first), and the reader must go on meanwhile, or
            # the device's pings go unanswered and it drops the connection; a frame that
            # follows waits for it (a device sends none before ``registered``)
            self._registering = asyncio.get_running_loop().create_task(
                self._register_or_close(message))
            return
        if invoker is None:
            raise ProtocolError(f"expected register first, got {message.TYPE}")
        if isinstance(message, Heartbeat):
            if message.echo_ms is None:  # a beat in another text than match_beat's
                await self._beat(invoker, message.seq, message.sent_ms, message.quiet)
            else:  # the echo of our probe
                invoker.liveness.seen()
                invoker.rtt.sample(self._round_trip_ms(message.seq, message.echo_ms))
                self.hub.round_trip(invoker)
            return
        invoker.liveness.seen()  # any valid frame proves the device alive
        if self.transfers is not None and self.transfers.handle(message):
            return  # artifact.* (a broken one raises ProtocolError: POLICY_VIOLATION)
        if isinstance(message, Result):
            invoker.on_result(message)
        elif isinstance(message, CodeMissing):
            await invoker.on_code_missing(message)
        elif isinstance(message, Logs):
            invoker.on_logs(message.activation_id, message.lines)
        elif isinstance(message, Context):
            invoker.on_context(message)
        elif isinstance(message, Metrics):
            invoker.on_metrics(message)
        elif isinstance(message, AgentLog):
            invoker.on_agent_log(message)
        elif isinstance(message, Drain):
            log.info("%r drains: %s", self, message.reason)
            invoker.on_drain()
        elif isinstance(message, Error):
            log.warning("%r reports: %s", self, message.reason)
        elif isinstance(message, OfflineRecord):
            await self.hub.offline_record(self, invoker.register, message)
        elif isinstance(message, (Run, Registered, AgentLogs, OfflineAction, OfflineKeep,
                                  OfflineSynced)):
            raise ProtocolError(f"{message.TYPE} is sent by the controller only")

    async def _register_or_close(self, message: Register) -> bool:
        try:
            await self._register(message)
        except Exception as exc:
            await self._failed(exc)
            return False
        return True

    async def _register(self, message: Register) -> None:
        self.transfers = self.hub.artifacts.session_transfers(self)
        self.invoker = await self.hub.registered(self, message)
        if self._register_timer is not None:
            self._register_timer.cancel()
            self._register_timer = None
        self.protocol = min(message.protocol, PROTOCOL_VERSION)  # a v1 agent is spoken v1 to
        await self.send(Registered(message.id, self.heartbeat_s, self.offline_after_s,
                                   protocol=self.protocol))
        await self.invoker.logs.reopen(self.invoker.send)  # readers of its log resume
        self._probe_due_ms = clock_ms() + int(self.heartbeat_s * 1000)
        await self.hub.offline_sync(self, message)
        log.info("%r registered (%s, %d MB, kinds %s)", self, message.role, message.memory_mb,
                 ",".join(message.kinds))

    # -- writing ----------------------------------------------------------------------------

    async def send(self, message: Message) -> bool:
        return await self.send_frame(encode(message))

    async def send_frame(self, frame: str | bytes) -> bool:
        """Send one frame (bytes: binary); False if the connection is gone (the reader sees
        it end)."""
        if self.ws.closed:
            return False
        try:
            if isinstance(frame, bytes):
                await self.ws.send_bytes(frame)
            else:
                await self.ws.send_str(frame)
        except (ConnectionError, RuntimeError) as exc:
            log.info("%r: send failed: %r", self, exc)
            return False
        return True

    async def _beat(self, invoker: RemoteInvoker, seq: int, sent_ms: int,
                    quiet: bool = False) -> None:
        """A device heartbeat: the window starts again, the answer (``beats.answer_frame``,
        the frame ``encode`` would write for ``Heartbeat.reply``) unless the beat is
        ``quiet`` (protocol 2: the device asks for one only when a result of its awaits
        confirmation or its round trip is due), and a probe when one is due go out.

        Liveness does not depend on the answers: the controller declares a silent device
        offline after ``offline_after_s`` as before, and a device notices a half-open
        connection by the WebSocket's own ping/pong (``AgentConfig.ws_heartbeat_s``), which
        never relied on them."""
        invoker.liveness.seen()
        now = clock_ms()
        if not quiet:
            await self.send_frame(answer_frame(seq, now, sent_ms))
        await self._probe(now)

    async def _probe(self, now_ms: int) -> None:
        """The controller's heartbeat, when one is due: the device's echo gives the
        round-trip time (``RTT_BEATS``)."""
        if self._probe_due_ms is not None and now_ms >= self._probe_due_ms:
            self._probe_due_ms = now_ms + int(self.heartbeat_s * 1000 * RTT_BEATS)
            self._seq += 1
            self._probe_sent = (self._seq, time.perf_counter())
            await self.send(Heartbeat(seq=self._seq, sent_ms=now_ms))

    def _round_trip_ms(self, seq: int, echo_ms: int) -> float:
        """A probe's round trip: to the microsecond when its echo answers the last probe sent
        (the wire's whole milliseconds would make a loopback or LAN round trip 0), else from
        the milliseconds it echoes."""
        if self._probe_sent is not None and seq == self._probe_sent[0]:
            return (time.perf_counter() - self._probe_sent[1]) * 1000.0
        return float(clock_ms() - echo_ms)

    def _no_register(self) -> None:
        self._register_timer = None
        self.close_soon(CloseCode.PROTOCOL_ERROR,
                        f"no register within {self.offline_after_s:g} s")

    # -- closing ----------------------------------------------------------------------------

    async def close(self, code: CloseCode, reason: str) -> None:
        """Close with ``code`` and ``reason``; idempotent, bounded by the socket's timeout."""
        if self.closing:
            return
        self.closing = True
        self.close_reason = (int(code), reason)
        self._stop()
        log.info("%r closed: %d %s", self, code, reason)
        message = reason.encode()[:REASON_BYTES].decode("utf-8", "ignore").encode()
        try:
            await self.ws.close(code=code, message=message)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the socket broke while closing: it is closed either way
            log.debug("%r: close failed: %r", self, exc)

    def close_soon(self, code: CloseCode, reason: str) -> None:
        """``close`` from a timer callback (kept as an attribute until it is done)."""
        if not self.closing and self._close_task is None:
            self._close_task = asyncio.get_running_loop().create_task(self.close(code, reason))

    def _stop(self) -> None:
        """Cancel the registration deadline and the probes of this connection."""
        if self._register_timer is not None:
            self._register_timer.cancel()
        self._register_timer = None
        self._probe_due_ms = None
