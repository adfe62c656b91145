"""The edge agent: one object owning the tunnel's whole lifecycle.

Why these rules:
- the device dials out (:func:`~.link.dial`; it never listens), authenticates with
  its token on the handshake, sends ``register`` and waits for ``registered`` before anything else;
- one reader per connection (:meth:`Agent._read`) routes every frame; aiohttp's own ``heartbeat=``
  (WebSocket ping/pong) finds a dead socket, while the protocol's ``heartbeat`` messages carry
  liveness and round-trip time (both ways; a heartbeat without ``echo_ms`` is echoed at once;
  the agent's own heartbeats and metrics: :class:`~.beats.Beats`);
- ``run`` frames go to :class:`~.activations.Activations`: one task each in the shared pool,
  outliving the connection (a result finished while disconnected waits in the
  :class:`~.outbox.Outbox` and is sent after re-registering, its id listed in ``holding``);
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
from edgewhisk_runtime.containers import ContainerPool
from edgewhisk_tunnel import (
    AgentLogs,
    CloseCode,
    Context,
    Drain,
    Error,
    Heartbeat,
    Message,
    OfflineAction,
    OfflineKeep,
    OfflineSynced,
    ProtocolError,
    Registered,
    Run,
    decode,
    encode,
)

from .activations import Activations
from .artifacts import DeviceArtifacts
from .backoff import Backoff
from .beats import Beats, now_ms
from .config import AgentConfig
from .context import ContextMonitor, DeviceContext
from .exceptions import OldController, Refused
from .frames import context_of, register_of
from .link import (
    CLOSE_TIMEOUT_S,
    FATAL_CLOSES,
    Link,
    Lost,
    client_session,
    close_text,
    close_ws,
    describe,
    dial,
)
from .logstream import LogRing, LogStreams
from .offline_work import OfflineWork
from .outbox import Outbox

log = logging.getLogger("edgewhisk_invoker")

AGENT_VERSION = edgewhisk.__version__  # the agent ships in the one distribution
STABLE_S = 10.0          # a connection up this long resets the backoff
POOL_CLOSE_TIMEOUT_S = 60.0
OFFLINE_FRAMES = (OfflineAction, OfflineKeep, OfflineSynced)


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
        self.registrations = 0
        self.drain_reason: str | None = None
        self._ssl = ssl
        self._session: aiohttp.ClientSession | None = None
        self._link = Link(config.protocol)
        self._send = self._link.send
        self._outbox = Outbox()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._shutdown: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._force = asyncio.Event()
        self.beats = Beats(pool, self.artifacts, self._outbox, self._link, self._spawn)
        self.activations = Activations(config.id, pool, self.artifacts, monitor, self._link,
                                       self._outbox, self.beats, self._spawn,
                                       stopping=self._stopping)
        self._closed = False
        self._url_index = 0  # which of ``config.urls`` the agent dials

    @property
    def registered(self) -> Registered | None:
        """The live connection's ``registered`` answer, else None."""
        return self._link.registered

    @property
    def protocol(self) -> int:
        """The live connection's version (``registered.protocol``; before the first one: the
        configured one, after one: the last one's)."""
        return self._link.protocol

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
        self._session = client_session()
        self.monitor.start(self._on_context)
        if self.offline is not None:  # what waited for a network the device is on already
            self.offline.networks_changed(self.monitor.snapshot().networks)
        try:
            while not self._stopping.is_set():
                try:
                    await self._connection()
                except (aiohttp.ClientError, OSError, TimeoutError, ProtocolError, Lost) as exc:
                    log.warning("tunnel to %s: %s", self.url, describe(exc))
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
        runs = list(self.activations.running.values())
        if runs:
            log.info("waiting up to %.0f s for %d activation(s)", self.config.grace_s, len(runs))
            finished: asyncio.Future[Any] = asyncio.gather(*runs, return_exceptions=True)
            forced: asyncio.Future[Any] = asyncio.ensure_future(self._force.wait())
            try:
                await asyncio.wait({finished, forced}, timeout=self.config.grace_s,
                                   return_when=asyncio.FIRST_COMPLETED)
            finally:
                forced.cancel()
        for activation_id in list(self.activations.running):
            self.activations.shut_down(activation_id)
        await self.activations.flush()
        ws = self._link.ws
        if ws is not None:
            await close_ws(ws, CloseCode.GOING_AWAY, reason)

    def _cancel_timers(self) -> None:
        """Every timer and task the agent owns, cancelled in one place."""
        self.beats.stop()
        self.monitor.stop()
        for task in [*self.activations.running.values(), *self._tasks]:
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
        pending = [*self.activations.running.values(), *self._tasks]
        if pending:
            await asyncio.wait(pending, timeout=CLOSE_TIMEOUT_S)
        await self.artifacts.disconnected()
        if self.offline is not None:
            await self.offline.close()
        if self._link.ws is not None:
            await close_ws(self._link.ws, CloseCode.GOING_AWAY, "agent closed")
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
        ws = await dial(self._session, self.url, self.config, self._ssl)
        self._link.ws = ws
        if self._stopping.is_set():  # stopped while dialling: do not register any more
            self._link.ws = None
            await close_ws(ws, CloseCode.GOING_AWAY, "the agent is shutting down")
            return
        registered_at: float | None = None
        try:
            await self._register(ws)
            registered_at = time.monotonic()
            await self._read(ws)
        finally:
            self._link.down()
            if self._log_streams is not None:
                self._log_streams.close()
                self._log_streams = None
            await self.artifacts.disconnected()
            if self.offline is not None:
                self.offline.disconnected()
            self.beats.stop()
            refused = ws.close_code == CloseCode.POLICY_VIOLATION
            for dropped in self._outbox.connection_lost(refused):
                log.error("result of %s dropped: %s", dropped,
                          "refused by the controller" if refused else "delivered repeatedly")
            if not ws.closed:
                await close_ws(ws, CloseCode.NORMAL, "reconnecting")
            if registered_at is not None and time.monotonic() - registered_at >= STABLE_S:
                self.backoff.reset()

    async def _register(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        c, ctx = self.config, self.monitor.snapshot()
        holding = self.activations.holding()
        await ws.send_str(encode(register_of(
            c, agent_version=AGENT_VERSION, kinds=self.pool.backend.kinds,
            context=ctx, cached=self.artifacts.keys(), holding=holding)))
        frame = await ws.receive(timeout=c.register_timeout_s)
        if frame.type != aiohttp.WSMsgType.TEXT:
            reason = f"closed before registering: {close_text(ws, frame)}"
            if ws.close_code in FATAL_CLOSES:
                raise FATAL_CLOSES[ws.close_code](reason)
            if ws.close_code == CloseCode.POLICY_VIOLATION:
                raise Refused(reason)
            if ws.close_code == CloseCode.PROTOCOL_ERROR and "register.protocol" in reason:
                raise OldController(
                    f"{reason}: the controller does not speak tunnel protocol {c.protocol}; "
                    f"upgrade it, or start this agent with --protocol 1")
            raise Lost(reason)
        message = decode(frame.data)
        if isinstance(message, Error):
            raise Lost(f"the controller answered register with an error: {message.reason}")
        if not isinstance(message, Registered) or message.id != c.id:
            raise ProtocolError(f"expected registered for {c.id!r}, got {frame.data[:200]!r}")
        self._link.up(message)
        self.registrations += 1
        self.artifacts.connected(self._send)
        self._log_streams = LogStreams(self.log_ring, self._send)
        if self.offline is not None:
            self.offline.connected(self._send)
        log.info("registered as %s with %s (holding %d)", c.id, self.url, len(holding))
        self.beats.start(message.heartbeat_s)
        await self._send(context_of(ctx))
        await self.beats.metrics()  # at once: it also says this agent streams its log
        if self.on_registered is not None:
            self.on_registered(message)
        await self.activations.flush()

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """The connection's one reader: every frame is decoded and routed here."""
        while True:
            frame = await ws.receive()
            if frame.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                try:  # binary: an artifact.put
                    message = decode(frame.data)
                    await self._handle(message)
                except ProtocolError as exc:
                    await close_ws(ws, exc.close_code, exc.reason)
                    raise
            else:
                text = close_text(ws, frame)
                if ws.close_code in FATAL_CLOSES:
                    raise FATAL_CLOSES[ws.close_code](f"the controller closed the tunnel: {text}")
                raise Lost(f"connection closed: {text}")

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
                self.beats.answered(message)
        elif isinstance(message, Run):
            await self.activations.received(message)
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

    # --- reports -----------------------------------------------------------------------------

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

