"""The edge agent: one object owning the tunnel's whole lifecycle.

Why these rules:
- the device dials out (``ws_connect`` to the controller; it never listens), authenticates with
  its token on the handshake, sends ``register`` and waits for ``registered`` before anything else;
- one reader per connection (:meth:`Agent._read`) routes every frame; aiohttp's own ``heartbeat=``
  (WebSocket ping/pong) finds a dead socket, while the protocol's ``heartbeat`` messages carry
  liveness and round-trip time (both ways; a heartbeat without ``echo_ms`` is echoed at once);
- activations run in the shared :class:`~edgewhisk_runtime.containers.ContainerPool`, one task
  each, and outlive the connection: a result finished while disconnected waits in the
  :class:`~.outbox.Outbox` and is sent after re-registering (its id listed in ``holding``);
- reconnects are spaced by :class:`~.backoff.Backoff` (reset once a connection stayed up
  ``STABLE_S``, so a connection that the controller drops at once keeps backing off);
- artifact frames go to the connection's transfers (:class:`~.artifacts.DeviceArtifacts`,
  which stages a run's consumes around the pool call, keeps and uploads its produces, serves
  the controller's pulls and preloads, and reports ``context.cached`` on every store change);
- frames of the offline half (``offline.*``) go to :class:`~.offline_work.OfflineWork` when the
  agent has one (``--offline-dir``): it keeps the actions it may run cut off, answers the local
  invoke API, syncs the records made offline after each register and runs the work that waited
  for a network when the context monitor reports joining it;
- a refusal that retrying cannot fix (401, token revoked, replaced, a bad certificate) ends
  :meth:`Agent.serve` with a :class:`~.exceptions.Fatal` error;
- :meth:`Agent.stop` (SIGTERM/SIGINT) drains: it tells the controller, lets running activations
  finish for ``grace_s`` and deliver, reports the rest as failed, then :meth:`Agent.close`
  (idempotent, bounded) cancels every timer and task in one place, closes the socket with
  GOING_AWAY and destroys the containers. Cancellation is always re-raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

import aiohttp
import edgewhisk
from edgewhisk_runtime.containers import ContainerError, ContainerPool
from edgewhisk_tunnel import (
    MAX_FRAME_BYTES,
    AgentLogs,
    CloseCode,
    CodeMissing,
    Context,
    Drain,
    Error,
    Heartbeat,
    Message,
    Metrics,
    OfflineAction,
    OfflineKeep,
    OfflineSynced,
    ProtocolError,
    Registered,
    Run,
    decode,
    encode,
)
from edgewhisk_tunnel.messages import AUTH_SCHEME

from .artifacts import DeviceArtifacts, StagingError
from .backoff import Backoff
from .codes import Codes
from .config import AgentConfig
from .context import ContextMonitor, DeviceContext
from .exceptions import Fatal, OldController, Refused, Replaced, TlsFailure, TokenRejected
from .frames import (
    action_spec,
    context_of,
    error_frame,
    for_version,
    metrics_values,
    register_of,
    result_frames,
)
from .logstream import LogRing, LogStreams
from .offline_work import OfflineWork
from .outbox import Outbox

log = logging.getLogger("edgewhisk_invoker")

AGENT_VERSION = edgewhisk.__version__  # the agent ships in the one distribution
STABLE_S = 10.0          # a connection up this long resets the backoff
CLOSE_TIMEOUT_S = 5.0    # bound on closing the socket
CONNECT_TIMEOUT_S = 10.0  # bound on TCP + TLS + the WebSocket handshake
POOL_CLOSE_TIMEOUT_S = 60.0
RTT_BEATS = 15           # protocol 2: every this many heartbeats ask for an answer (round trip)
FATAL_CLOSES: dict[int, type[Fatal]] = {CloseCode.TOKEN_REVOKED: TokenRejected,
                                        CloseCode.REPLACED: Replaced}
SHUTDOWN_ERROR = "the edge invoker {id} shut down during the activation"
ABNORMAL_CLOSURE = 1006  # RFC 6455: the connection dropped without a close frame
OFFLINE_FRAMES = (OfflineAction, OfflineKeep, OfflineSynced)


class _Lost(Exception):
    """The connection ended (not an error: the agent reconnects)."""


def now_ms() -> int:
    return int(time.monotonic() * 1000)


class Agent:
    """``await serve()`` runs until :meth:`stop` or a fatal refusal (then raises it)."""

    def __init__(self, config: AgentConfig, pool: ContainerPool, monitor: ContextMonitor, *,
                 ssl: Any = True, backoff: Backoff | None = None,
                 on_registered: Callable[[Registered], None] | None = None,
                 artifacts: DeviceArtifacts | None = None,
                 log_ring: LogRing | None = None,
                 offline: OfflineWork | None = None) -> None:
        """``log_ring``: where this process's log is kept for ``agent.logs`` streams (None:
        a ring on the root logger, removed again when the agent closes)."""
        self.config = config
        self.offline = offline
        self.log_ring = log_ring or LogRing()
        self._own_ring = log_ring is None
        if self._own_ring:
            logging.getLogger().addHandler(self.log_ring)
        self._log_streams: LogStreams | None = None
        self.pool = pool
        self.monitor = monitor
        self.artifacts = artifacts or DeviceArtifacts(None, config.id)
        self.artifacts.watch(self._on_cached)
        self.backoff = backoff or Backoff(config.backoff_base_s, config.backoff_cap_s)
        self.on_registered = on_registered
        self.registered: Registered | None = None   # of the live connection, else None
        self.protocol = config.protocol  # the live connection's version (registered.protocol)
        self.registrations = 0
        self.rtt_ms: int | None = None
        self.drain_reason: str | None = None
        self._ssl = ssl
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._outbox = Outbox()
        self._codes = Codes()  # protocol 2: code a run may omit
        self._runs: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._heartbeat_timer: asyncio.TimerHandle | None = None
        self._shutdown: asyncio.Task[None] | None = None
        self._send_lock = asyncio.Lock()
        self._flush_lock = asyncio.Lock()
        self._stopping = asyncio.Event()
        self._force = asyncio.Event()
        self._seq = 0
        self._last_metrics: tuple[float, ...] | None = None
        self._cold: set[str] = set()  # keys the pool has no warm container of any more
        pool.on_evict.append(self._on_evict)
        self._closed = False
        self._url_index = 0  # which of ``config.urls`` the agent dials

    @property
    def url(self) -> str:
        """The controller's tunnel URL the agent is connected to, or dials next."""
        return self.config.urls[self._url_index]

    def _next_controller(self) -> None:
        """The connection failed or ended: the next controller in turn (any of them can take
        this device, they share one store), so a dead one costs one backoff step."""
        self._url_index = (self._url_index + 1) % len(self.config.urls)

    # --- lifecycle ----------------------------------------------------------------------------

    async def serve(self) -> None:
        """Connect, register, work; reconnect with backoff until stopped; then close."""
        # Bounded dialling (a cut link drops SYNs silently) and handshake; no total timeout,
        # which would also bound the WebSocket's life (aiohttp resets the read timeout for it).
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(
            total=None, connect=CONNECT_TIMEOUT_S, sock_read=CONNECT_TIMEOUT_S))
        self.monitor.start(self._on_context)
        if self.offline is not None:  # what waited for a network the device is on already
            self.offline.networks_changed(self.monitor.snapshot().networks)
        try:
            while not self._stopping.is_set():
                try:
                    await self._connection()
                except (aiohttp.ClientError, OSError, TimeoutError, ProtocolError, _Lost) as exc:
                    log.warning("tunnel to %s: %s", self.url, _describe(exc))
                if self._stopping.is_set():
                    break
                self._next_controller()
                delay = self.backoff.next_delay()
                log.info("reconnecting in %.2f s (attempt %d)", delay, self.backoff.attempt)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)
            if self._shutdown is not None:
                await self._shutdown
        finally:
            await self.close()

    def stop(self, reason: str = "stopped") -> None:
        """Begin a graceful shutdown (signal handlers call this); a second call ends the grace
        period at once (a second Ctrl-C)."""
        if self._closed:
            return
        if self._shutdown is not None:
            log.info("%s again: not waiting for running activations", reason)
            self._force.set()
            return
        log.info("shutting down: %s", reason)
        self._stopping.set()
        self._shutdown = asyncio.ensure_future(self._drain_and_leave(reason))

    async def _drain_and_leave(self, reason: str) -> None:
        await self._send(Drain(reason))
        runs = list(self._runs.values())
        if runs:
            log.info("waiting up to %.0f s for %d activation(s)", self.config.grace_s, len(runs))
            finished: asyncio.Future[Any] = asyncio.gather(*runs, return_exceptions=True)
            forced: asyncio.Future[Any] = asyncio.ensure_future(self._force.wait())
            try:
                await asyncio.wait({finished, forced}, timeout=self.config.grace_s,
                                   return_when=asyncio.FIRST_COMPLETED)
            finally:
                forced.cancel()
        for activation_id, task in list(self._runs.items()):
            task.cancel()
            self._finish(activation_id, [error_frame(activation_id, SHUTDOWN_ERROR.format(
                id=self.config.id))])
        await self._flush()
        ws = self._ws
        if ws is not None:
            await _close_ws(ws, CloseCode.GOING_AWAY, reason)

    def _cancel_timers(self) -> None:
        """Every timer and task the agent owns, cancelled in one place."""
        if self._heartbeat_timer is not None:
            self._heartbeat_timer.cancel()
            self._heartbeat_timer = None
        self.monitor.stop()
        for task in [*self._runs.values(), *self._tasks]:
            task.cancel()
        if self._shutdown is not None and self._shutdown is not asyncio.current_task():
            self._shutdown.cancel()

    async def close(self) -> None:
        """Cancel everything, close the socket (GOING_AWAY), destroy the containers. Bounded,
        idempotent."""
        if self._closed:
            return
        self._closed = True
        self._stopping.set()
        self._cancel_timers()
        if self._own_ring:
            logging.getLogger().removeHandler(self.log_ring)
        pending = [*self._runs.values(), *self._tasks]
        if pending:
            await asyncio.wait(pending, timeout=CLOSE_TIMEOUT_S)
        await self.artifacts.disconnected()
        if self.offline is not None:
            await self.offline.close()
        if self._ws is not None:
            await _close_ws(self._ws, CloseCode.GOING_AWAY, "agent closed")
        try:
            await asyncio.wait_for(self.pool.close(), POOL_CLOSE_TIMEOUT_S)
        except TimeoutError:
            log.error("containers were not all destroyed within %.0f s", POOL_CLOSE_TIMEOUT_S)
        finally:
            if self._session is not None:
                await self._session.close()

    # --- one connection -----------------------------------------------------------------------

    async def _connection(self) -> None:
        assert self._session is not None
        try:
            ws = await self._session.ws_connect(
                self.url, heartbeat=self.config.ws_heartbeat_s, ssl=self._ssl,
                headers={"Authorization": f"{AUTH_SCHEME} {self.config.token}"},
                max_msg_size=MAX_FRAME_BYTES + 1, autoping=True,  # aiohttp: < limit
                timeout=aiohttp.ClientWSTimeout(ws_close=CLOSE_TIMEOUT_S))
        except aiohttp.WSServerHandshakeError as exc:
            if exc.status in (401, 403):
                raise TokenRejected(f"the controller refused the token (HTTP {exc.status}); "
                                    f"create one with `edgewhisk invoker token create`") from None
            raise
        except aiohttp.ClientConnectorCertificateError as exc:
            raise TlsFailure(f"the controller's certificate did not verify: "
                             f"{exc.certificate_error} (trust its CA with --ca-file)") from None
        self._ws = ws
        if self._stopping.is_set():  # stopped while dialling: do not register any more
            self._ws = None
            await _close_ws(ws, CloseCode.GOING_AWAY, "the agent is shutting down")
            return
        registered_at: float | None = None
        try:
            await self._register(ws)
            registered_at = time.monotonic()
            await self._read(ws)
        finally:
            self._ws = None
            self.registered = None
            if self._log_streams is not None:
                self._log_streams.close()
                self._log_streams = None
            await self.artifacts.disconnected()
            if self.offline is not None:
                self.offline.disconnected()
            if self._heartbeat_timer is not None:
                self._heartbeat_timer.cancel()
                self._heartbeat_timer = None
            refused = ws.close_code == CloseCode.POLICY_VIOLATION
            for dropped in self._outbox.connection_lost(refused):
                log.error("result of %s dropped: %s", dropped,
                          "refused by the controller" if refused else "delivered repeatedly")
            if not ws.closed:
                await _close_ws(ws, CloseCode.NORMAL, "reconnecting")
            if registered_at is not None and time.monotonic() - registered_at >= STABLE_S:
                self.backoff.reset()

    async def _register(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        c, ctx = self.config, self.monitor.snapshot()
        holding = tuple(dict.fromkeys([*self._runs, *self._outbox.ids()]))
        await ws.send_str(encode(register_of(
            c, agent_version=AGENT_VERSION, kinds=self.pool.backend.kinds,
            context=ctx, cached=self.artifacts.keys(), holding=holding)))
        frame = await ws.receive(timeout=c.register_timeout_s)
        if frame.type != aiohttp.WSMsgType.TEXT:
            reason = f"closed before registering: {_close_text(ws, frame)}"
            if ws.close_code in FATAL_CLOSES:
                raise FATAL_CLOSES[ws.close_code](reason)
            if ws.close_code == CloseCode.POLICY_VIOLATION:
                raise Refused(reason)
            if ws.close_code == CloseCode.PROTOCOL_ERROR and "register.protocol" in reason:
                raise OldController(
                    f"{reason}: the controller does not speak tunnel protocol {c.protocol}; "
                    f"upgrade it, or start this agent with --protocol 1")
            raise _Lost(reason)
        message = decode(frame.data)
        if isinstance(message, Error):
            raise _Lost(f"the controller answered register with an error: {message.reason}")
        if not isinstance(message, Registered) or message.id != c.id:
            raise ProtocolError(f"expected registered for {c.id!r}, got {frame.data[:200]!r}")
        self.registered = message
        self.protocol = message.protocol
        self.registrations += 1
        self.artifacts.connected(self._send)
        self._log_streams = LogStreams(self.log_ring, self._send)
        if self.offline is not None:
            self.offline.connected(self._send)
        log.info("registered as %s with %s (holding %d)", c.id, self.url, len(holding))
        self._schedule_heartbeat()
        await self._send(context_of(ctx))
        self._last_metrics = None
        await self._metrics()  # at once: it also says this agent streams its log
        if self.on_registered is not None:
            self.on_registered(message)
        await self._flush()

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """The connection's one reader: every frame is decoded and routed here."""
        while True:
            frame = await ws.receive()
            if frame.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                try:  # binary: an artifact.put
                    message = decode(frame.data)
                    await self._handle(message)
                except ProtocolError as exc:
                    await _close_ws(ws, exc.close_code, exc.reason)
                    raise
            else:
                text = _close_text(ws, frame)
                if ws.close_code in FATAL_CLOSES:
                    raise FATAL_CLOSES[ws.close_code](f"the controller closed the tunnel: {text}")
                raise _Lost(f"connection closed: {text}")

    async def _handle(self, message: Message) -> None:
        transfers = self.artifacts.transfers
        if transfers is not None and transfers.handle(message):
            return
        if isinstance(message, OFFLINE_FRAMES):
            if self.offline is not None:
                self.offline.handle(message)
            return  # without --offline-dir the device keeps nothing for offline use
        if isinstance(message, Heartbeat):
            if message.echo_ms is None:
                await self._send(message.reply(now_ms()))
            else:
                self.rtt_ms = now_ms() - message.echo_ms
                for pending in self._outbox.confirmed(message.seq):
                    log.log(logging.INFO if pending.eventful else logging.DEBUG,
                            "result of %s delivered", pending.activation_id)
        elif isinstance(message, Run):
            if self._codes.missing(message):  # evicted: the controller sends it again, with it
                await self._send(CodeMissing(message.activation_id, message.spec.key))
            else:
                self._start_run(message, self._codes.code(message, keep=self.protocol >= 2))
        elif isinstance(message, AgentLogs) and self._log_streams is not None:
            self._log_streams.handle(message)
        elif isinstance(message, Drain):
            self.drain_reason = message.reason
            log.info("the controller drains this invoker: %s", message.reason)
        elif isinstance(message, Error):
            log.warning("the controller reports: %s", message.reason)
        else:
            log.warning("ignoring a %s message (not handled by this agent)", message.TYPE)
            await self._send(Error(f"{message.TYPE} is not supported by this agent"))

    # --- activations --------------------------------------------------------------------------

    def _start_run(self, run: Run, code: str | None) -> None:
        aid = run.activation_id
        if aid in self._runs or aid in self._outbox.ids():
            log.info("run %s is already here; its result will be delivered once", aid)
            return
        if self._stopping.is_set():
            self._finish(aid, [error_frame(aid, SHUTDOWN_ERROR.format(id=self.config.id))])
            return
        self._runs[aid] = asyncio.ensure_future(self._run(run, code))
        self.monitor.in_flight = len(self._runs)

    async def _run(self, run: Run, code: str | None) -> None:
        aid = run.activation_id
        frames: list[str]
        try:
            spec, value = action_spec(run.spec, code), dict(run.value)
            reports = self.protocol >= 2  # the result names what the run kept
            outcome = await self.artifacts.around(
                run, lambda fields: self.pool.run(spec, value, fields), quiet=reports)
            cached = self.artifacts.keys() if reports and run.produces else None
            frames = result_frames(aid, outcome, cached)
        except (ContainerError, StagingError) as exc:
            frames = [error_frame(aid, f"edge invoker {self.config.id}: {exc}")]
        except Exception as exc:  # a bug here must still answer the activation
            log.exception("activation %s failed in the agent", aid)
            frames = [error_frame(aid, f"edge invoker {self.config.id} failed: {exc!r}")]
        self._finish(aid, frames)

    def _finish(self, activation_id: str, frames: list[str]) -> None:
        """Into the outbox, then out of the running set (no await between: ``holding`` never
        misses it), and on its way if connected: from a task of its own, spawned after the
        run's node-store changes spawned theirs. Protocol 2: the result itself names what
        the run kept (``Result.cached``), so frame order does not matter. Protocol 1: the
        ``context`` frame naming a kept artifact must reach the controller before the
        result (a flow's next step is placed by where that artifact is; sent from the run's
        own task, the result overtook it)."""
        self._outbox.add(activation_id, frames, late=self.registered is None)
        self._runs.pop(activation_id, None)
        self.monitor.in_flight = len(self._runs)
        if self.registered is not None:
            self._spawn(self._flush())

    async def _flush(self) -> None:
        """Send the outbox's unsent results, oldest first, on the live connection."""
        async with self._flush_lock:
            for pending in self._outbox.unsent():
                if self.registered is None:
                    return
                for frame in pending.frames:
                    if not await self._send_frame(for_version(frame, self.protocol)):
                        return
                self._outbox.sent(pending.activation_id, self._seq)

    # --- sending ------------------------------------------------------------------------------

    async def _send(self, message: Message) -> bool:
        """One message on the live connection; False if there is none (or it just broke)."""
        try:
            frame = encode(message)
        except ProtocolError as exc:
            log.error("not sending a %s: %s", message.TYPE, exc.reason)
            return True
        return await self._send_frame(frame)

    async def _send_frame(self, frame: str | bytes) -> bool:
        """One encoded frame (bytes: binary) on the live connection; False as ``_send``."""
        ws = self._ws
        if ws is None or ws.closed:
            return False
        try:
            async with self._send_lock:
                if isinstance(frame, bytes):
                    await ws.send_bytes(frame)
                else:
                    await ws.send_str(frame)
        except (ConnectionError, aiohttp.ClientError, RuntimeError) as exc:
            log.info("send failed (%s); the reader will reconnect", _describe(exc))
            return False
        return True

    def _schedule_heartbeat(self) -> None:
        assert self.registered is not None
        self._heartbeat_timer = asyncio.get_running_loop().call_later(
            self.registered.heartbeat_s, self._on_heartbeat_timer)

    def _on_heartbeat_timer(self) -> None:
        if self.registered is None:
            self._heartbeat_timer = None
            return
        self._schedule_heartbeat()
        self._spawn(self._heartbeat())

    async def _heartbeat(self) -> None:
        """Protocol 2: ``quiet`` (no answer wanted) unless a result awaits the answer that
        confirms it or this agent's round trip is due (every ``RTT_BEATS``): at 1 Hz the
        answers were half of a connected device's frames."""
        seq, self._seq = self._seq, self._seq + 1
        quiet = self.protocol >= 2 and not self._outbox.awaiting() and seq % RTT_BEATS != 0
        await self._send(Heartbeat(seq=seq, sent_ms=now_ms(), quiet=quiet))
        await self._metrics()

    async def _metrics(self) -> None:
        """Load and the numbers of ``metrics_values``, when they changed (or cold keys)."""
        values = metrics_values(self.pool.containers, self.rtt_ms, self.artifacts.store,
                                self.artifacts.counts)
        load = (self.pool.free_memory_mb, self.pool.in_flight,
                *(v for k, v in sorted(values.items()) if k != "rtt_ms"))
        if load != self._last_metrics or self._cold:
            cold = tuple(sorted(self._cold))
            if await self._send(Metrics(free_memory_mb=self.pool.free_memory_mb,
                                        in_flight=self.pool.in_flight, values=values,
                                        cold=cold)):
                self._last_metrics = load
                self._cold.difference_update(cold)

    def _on_evict(self, key: str) -> None:
        """The pool's last warm container of ``key`` left: placement hears it with the next
        metrics (the pool keys ``ns/name@version#digest``, placement ``ns/name@version``)."""
        self._cold.add(key.partition("#")[0])

    def _on_cached(self) -> None:
        """The node store changed: the controller's placement and registry hear of it."""
        if self.registered is not None:
            self._spawn(self._send(Context(cached=self.artifacts.keys())))

    def _on_context(self, ctx: DeviceContext) -> None:
        if self.offline is not None:
            self.offline.networks_changed(ctx.networks)
        if self.registered is not None:
            self._spawn(self._send(context_of(ctx)))

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception())


async def _close_ws(ws: aiohttp.ClientWebSocketResponse, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(ws.close(code=code, message=reason.encode()[:120]),
                               CLOSE_TIMEOUT_S)


def _close_text(ws: aiohttp.ClientWebSocketResponse, frame: aiohttp.WSMessage) -> str:
    code = ws.close_code
    reason = frame.extra if isinstance(frame.extra, str) and frame.extra else ""
    try:
        name = CloseCode(code).name if code is not None else "no close code"
    except ValueError:
        name = "ABNORMAL_CLOSURE" if code == ABNORMAL_CLOSURE else "close code"
    return f"{name} ({code}) {reason}".strip()


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
