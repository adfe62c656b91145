"""TunnelHub: every edge invoker and tunnel connection of one controller.

It owns the lifecycle of a remote invoker: a ``register`` (checked against the connection's
token) adds it to the invoker registry and the placement engine (or updates it, when it comes
back within the offline window); a dropped connection makes it unhealthy (no new work) but
keeps its activations; no heartbeat for ``offline_after_s`` makes it offline: its connection
is closed, its in-flight activations end with ``InvokerLost`` (the dispatcher re-dispatches
idempotent ones, records the others as whisk internal errors naming it), and it leaves the
registry and the engine. Revoking its token does the same at once. The engine hears every
change through the placement contract (``placement.PlacementEngine``), round trips included:
each heartbeat echo's sample is smoothed once, in ``health.RoundTrip``, and that average is
what ``observe_rtt`` receives.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import web
from edgewhisk_tunnel import (
    CloseCode,
    FrameTooLarge,
    OfflineAction,
    OfflineKeep,
    OfflineRecord,
    OfflineSynced,
    Produce,
    ProtocolError,
    Register,
)

from ..invokers.local import LocalInvoker
from ..invokers.registry import InvokerRegistry
from ..placement.interface import InvokerState, PlacementEngine
from .artifact_service import ArtifactService
from .exceptions import InvokerLost
from .pending import Pending
from .remote import RemoteInvoker
from .session import Session
from .tokens import DeviceToken, Tokens
from .twins import REGISTER_COLUMNS

if TYPE_CHECKING:
    from edgewhisk_runtime.containers import RunOutcome

    from ..artifacts.registry import ArtifactRegistry
    from ..stores import Doc

log = logging.getLogger(__name__)

OFFLINE_AFTER_S = 10.0
"""OpenWhisk's timing: an invoker without a heartbeat for 10 s is offline."""
HEARTBEAT_S = 1.0
"""How often both sides send heartbeats (at most; faster for a short offline window)."""
RECONNECT_CAP_S = 30.0
"""An agent's longest reconnect backoff by default (``edgewhisk invoker --backoff-cap``): after
a restart, an edge invoker's recovered activations wait this long beyond the offline window
for it to register again."""

_STATE_FIELDS = frozenset(InvokerState.__dataclass_fields__)


class OfflineHandler(Protocol):
    """What the hub needs for devices that work cut off (``dispatch.offline.OfflineService``,
    set by the application: the tunnel never reads the entity store itself)."""

    async def actions_for(self, namespace: str, register: Register) -> list[OfflineAction]: ...

    async def accept(self, namespace: str, register: Register,
                     record: OfflineRecord) -> tuple[str, Mapping[str, str]]:
        """``stored``, ``duplicate``, or why the record was refused (not stored); and the
        registry key allocated for each provisional key of an artifact it produced."""


class TunnelHub:
    def __init__(self, tokens: Tokens, registry: InvokerRegistry, engine: PlacementEngine, *,
                 offline_after_s: float = OFFLINE_AFTER_S,
                 reconnect_cap_s: float = RECONNECT_CAP_S,
                 artifacts: ArtifactRegistry | None = None) -> None:
        self.tokens = tokens
        self.registry = registry
        self.offline_after_s = offline_after_s
        self.reclaim_s = offline_after_s + reconnect_cap_s
        """How long start-up recovery (or a cluster's takeover) waits for an edge invoker to
        register again, from each wait's start: the offline window plus the agents' longest
        reconnect backoff."""
        self.heartbeat_s = min(HEARTBEAT_S, offline_after_s / 4)
        self.engine = engine
        self.devices: dict[str, RemoteInvoker] = {}
        self.artifacts = ArtifactService(artifacts, self.devices)
        self.sessions: set[Session] = set()
        self.closed = False
        # start-up recovery: invoker id -> activation id -> (memory MB, logs bytes, produces,
        # outcome)
        self.reclaims: dict[str, dict[str, tuple[int, int, tuple[Produce, ...],
                                                 asyncio.Future[RunOutcome]]]] = {}
        self.offline_work: OfflineHandler | None = None
        self.arriving: Callable[[str], Awaitable[None]] | None = None
        """Awaited with the id of every device registering here, before its ``register`` is
        handled (the cluster: another controller's entry for the same device gives way, and
        the work of a dead controller that held it is taken over, to be reclaimed here)."""

    # -- offline work -----------------------------------------------------------------------

    async def offline_sync(self, session: Session, register: Register) -> None:
        """After ``registered``: the actions this device may keep, then the list to keep."""
        if self.offline_work is None:
            return
        names = []
        for action in await self.offline_work.actions_for(session.token.namespace, register):
            try:
                sent = await session.send(action)
            except FrameTooLarge as exc:
                log.warning("%r: %s is not kept offline: %s", session, action.name, exc.reason)
                continue
            if not sent:
                return
            names.append(action.name)
        await session.send(OfflineKeep(tuple(names)))

    async def offline_changed(self, namespace: str) -> None:
        """An action of ``namespace`` was created, updated or deleted: every device of the
        namespace connected now gets its copies again (an unchanged copy is rewritten with
        the same version; ``offline.keep`` drops a deleted or narrowed one)."""
        for session in list(self.sessions):
            invoker = session.invoker
            if invoker is not None and not session.closing \
                    and session.token.namespace == namespace:
                await self.offline_sync(session, invoker.register)

    async def offline_record(self, session: Session, register: Register,
                             record: OfflineRecord) -> None:
        """A record the device made offline: stored once, then confirmed."""
        if self.offline_work is None:
            raise ProtocolError("this controller does not accept offline records",
                                CloseCode.POLICY_VIOLATION)
        outcome, keys = await self.offline_work.accept(session.token.namespace, register,
                                                       record)
        if outcome != "stored":
            log.warning("%r: offline record %s: %s", session, record.activation_id, outcome)
        await session.send(OfflineSynced((record.activation_id,), dict(keys)))  # forgotten

    # -- connections ------------------------------------------------------------------------

    async def serve(self, ws: web.WebSocketResponse, token: DeviceToken, peer: str) -> None:
        """Run one connection to its end (called by the endpoint after the upgrade)."""
        session = Session(self, ws, token, heartbeat_s=self.heartbeat_s,
                          offline_after_s=self.offline_after_s, peer=peer)
        self.sessions.add(session)
        try:
            if self.closed:
                await session.close(CloseCode.GOING_AWAY, "the controller is shutting down")
                return
            await session.serve()
        finally:
            self.sessions.discard(session)

    async def registered(self, session: Session, message: Register) -> RemoteInvoker:
        """``session`` sent ``message``: check it against the token, then (re)join."""
        token = session.token
        if message.id != token.id:
            raise ProtocolError(f"register for invoker {message.id!r}, but the token is for "
                                f"{token.id!r}", CloseCode.POLICY_VIOLATION)
        if message.namespace not in (None, token.namespace):
            raise ProtocolError(f"register for namespace {message.namespace!r}, but the token "
                                f"is for {token.namespace!r}", CloseCode.POLICY_VIOLATION)
        if self.closed:
            raise ProtocolError("the controller is shutting down", CloseCode.GOING_AWAY)
        if session.closing:
            raise ProtocolError("the connection is closing", CloseCode.POLICY_VIOLATION)
        if self.arriving is not None:
            await self.arriving(token.id)  # may hold it for seconds (cluster/node.py)
            if session.closing or session.ws.closed:  # the device left meanwhile
                raise ProtocolError("the connection closed while its registration was held",
                                    CloseCode.GOING_AWAY)
        device = self.devices.get(token.id)
        if token.id in self.registry and self.registry.get(token.id) is not device:
            raise ProtocolError(f"invoker id {token.id!r} is taken by another invoker",
                                CloseCode.POLICY_VIOLATION)
        if device is None:
            device = RemoteInvoker(self, token, message, self.offline_after_s)
            self.devices[token.id] = device
        for activation_id, (memory_mb, logs, produces, future) in \
                self.reclaims.pop(token.id, {}).items():
            device.adopt(activation_id, memory_mb, logs, produces, future, session)
        previous = await device.attach(session, message)
        device.connections += 1
        if device.online:
            self._engine_update(device, *REGISTER_COLUMNS, "healthy")
        else:
            device.online = True
            self.registry.register(device)
            self.engine.register(device.state())
        if previous is not None:
            await previous.close(CloseCode.REPLACED, "a newer connection registered this invoker")
        return device

    def reclaim(self, invoker_id: str, activation_id: str, memory_mb: int, logs_limit: int,
                produces: tuple[Produce, ...] = ()) -> asyncio.Future[RunOutcome]:
        """Start-up recovery: ``activation_id`` was sent to ``invoker_id`` before the
        controller restarted (to keep ``produces``: its ``cloud`` uploads are accepted again).
        The future ends with the result its agent delivers once it has
        registered again holding it, else ``InvokerLost`` (it came back without it, or not
        within ``reclaim_s`` of this call: each wait has its window, a cluster's takeover
        reclaiming at any time; one timer for all, started once, left a wait asked after it
        fired waiting for ever)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[RunOutcome] = loop.create_future()
        self.reclaims.setdefault(invoker_id, {})[activation_id] = (memory_mb, logs_limit,
                                                                   produces, future)
        window = loop.call_later(self.reclaim_s, self._expired, invoker_id, activation_id,
                                 future)
        future.add_done_callback(lambda _: window.cancel())
        return future

    def _expired(self, invoker_id: str, activation_id: str,
                 future: asyncio.Future[RunOutcome]) -> None:
        """The window of one wait is over: lost, unless the agent came back for it (its
        registration took it from ``reclaims``)."""
        waiting = self.reclaims.get(invoker_id, {})
        if activation_id not in waiting or waiting[activation_id][-1] is not future:
            return
        del waiting[activation_id]
        if not waiting:
            del self.reclaims[invoker_id]
        if not future.done():
            future.set_exception(InvokerLost(
                invoker_id, f"it did not reconnect within {self.reclaim_s:g} s"))

    def _unclaimed(self, why: str) -> None:
        """The controller stops: what no agent came back for is lost."""
        for invoker_id, waiting in self.reclaims.items():
            for *_, future in waiting.values():
                if not future.done():
                    future.set_exception(InvokerLost(invoker_id, why))
        self.reclaims.clear()

    def disconnected(self, session: Session) -> None:
        device = session.invoker
        if device is not None and device.detach(session):
            log.info("invoker %s disconnected; offline unless it is back within %g s",
                     device.id, self.offline_after_s - device.liveness.silent_s)
            self._engine_update(device, "healthy")

    # -- what RemoteInvokers report ---------------------------------------------------------

    def offline(self, device: RemoteInvoker) -> None:
        """No heartbeat within the window (a timer callback)."""
        why = f"no heartbeat for {self.offline_after_s:g} s"
        log.warning("invoker %s is offline: %s", device.id, why)
        self._drop(device, why, CloseCode.HEARTBEAT_TIMEOUT, f"{why}: the invoker is offline")

    def changed(self, device: RemoteInvoker, **changes: Any) -> None:
        if device.online:
            known = {k: v for k, v in changes.items() if k in _STATE_FIELDS}
            if known:
                self.engine.heartbeat(device.id, **known)

    def cold(self, device: RemoteInvoker, keys: Iterable[str]) -> None:
        """The device's pool dropped its last warm container of each of ``keys``."""
        if device.online:
            for key in keys:
                self.engine.forget_warm(device.id, key)

    def held(self, device: RemoteInvoker, now: Iterable[str]) -> None:
        """The device's node store changed: the registry's copies follow."""
        self.artifacts.held(device, now)

    async def push(self, invoker_id: str, doc: Doc) -> str:
        """Preload ``doc`` to device ``invoker_id``: ``preloaded`` or ``cached`` (raises
        ``StagingFailed``/``LocalityRefused`` naming why not)."""
        return await self.artifacts.push(invoker_id, doc)

    def round_trip(self, device: RemoteInvoker) -> None:
        """A new round-trip sample: the engine gets the smoothed round trip (it follows it
        in steps of its own, ``Engine.observe_rtt``)."""
        if device.rtt.ms is not None and device.online:
            self.engine.observe_rtt(device.id, device.rtt.ms)

    def hand_off(self, id: str, to: str) -> list[tuple[str, Pending]]:
        """Device ``id`` registered with controller ``to`` of the cluster: the activations
        sent to it here (``RemoteInvoker.hand_off``), for the caller to wait for from ``to``;
        it counts gone here (what was not sent yet is placed again: it never started), and
        a connection of it still open here (its other end gone) is closed."""
        device = self.devices.get(id)
        if device is None:
            return []
        handed = device.hand_off()
        device.liveness.stop()
        self._drop(device, f"it registered with controller {to}", CloseCode.REPLACED,
                   f"the invoker registered with controller {to}")
        return handed

    # -- revocation and shutdown ------------------------------------------------------------

    async def revoke(self, id: str) -> None:
        """The token of ``id`` was revoked: close its connections now, give up its work."""
        reason = "the device token was revoked"
        device = self.devices.pop(id, None)
        closing = [s for s in self.sessions if s.token.id == id]
        if device is not None:
            device.liveness.stop()
            self._leave(device, reason)
            device.closed = True
            device.session = None
        await asyncio.gather(*(s.close(CloseCode.TOKEN_REVOKED, reason) for s in closing))

    async def token_changed(self, doc: Mapping[str, Any]) -> None:
        """A device token written or deleted by any controller (the changes feed,
        ``cluster/``): a connection here whose token was revoked, or replaced by a newer one,
        is closed as :meth:`revoke` closes it where the API was asked."""
        id = str(doc["_id"])
        deleted = bool(doc.get("_deleted"))
        stale = any(s.token.id == id and (deleted or s.token.created != doc.get("created"))
                    for s in self.sessions)
        if stale or (deleted and id in self.devices):
            log.info("the token of invoker %s was %s on another controller", id,
                     "revoked" if deleted else "replaced")
            await self.revoke(id)

    async def shutdown(self) -> None:
        """``on_shutdown``: refuse new registrations, give up remote work, close sockets
        with GOING_AWAY (before aiohttp waits for handlers, which these would block)."""
        self.closed = True
        self._unclaimed("the controller is shutting down")
        for device in list(self.devices.values()):
            device.liveness.stop()
            device.lose_all("the controller is shutting down")
        reason = "the controller is shutting down"
        await asyncio.gather(*(s.close(CloseCode.GOING_AWAY, reason)
                               for s in list(self.sessions)))

    def status(self, namespace: str) -> list[dict[str, Any]]:
        return [d.status() for id, d in sorted(self.devices.items())
                if d.namespace == namespace]

    def listing(self, namespace: str) -> list[dict[str, Any]]:
        """Every invoker ``namespace`` may use: the controller's own (``where: local``)
        first, then its edge invokers (``where: tunnel``), then those other controllers of
        the cluster hold (``where: peer``); the API and the console show it."""
        local = [invoker.status() for invoker in sorted(self.registry, key=lambda i: i.id)
                 if isinstance(invoker, LocalInvoker)
                 and (invoker.namespaces is None or namespace in invoker.namespaces)]
        return local + self.status(namespace) + self._peers(namespace)

    def _peers(self, namespace: str) -> list[dict[str, Any]]:
        """Devices another controller of the cluster holds (``where: peer``), last."""
        return [invoker.status() for invoker in sorted(self.registry, key=lambda i: i.id)
                if not isinstance(invoker, (LocalInvoker, RemoteInvoker))
                and namespace in (invoker.state().namespaces or {namespace})]

    # -- registry and engine ----------------------------------------------------------------

    def _leave(self, device: RemoteInvoker, why: str) -> None:
        device.lose_all(why)
        if device.online:
            device.online = False
            if device.id in self.registry and self.registry.get(device.id) is device:
                self.registry.unregister(device.id)
            try:
                self.engine.unregister(device.id)
            except KeyError:
                pass  # the registry feeds the engine itself

    def _drop(self, device: RemoteInvoker, why: str, code: CloseCode, reason: str) -> None:
        """``device`` leaves (``why``) and its connection, if one is left, closes soon."""
        self._leave(device, why)
        session, device.session = device.session, None
        if session is not None:
            session.close_soon(code, reason)

    def _engine_update(self, device: RemoteInvoker, *names: str) -> None:
        if device.online:
            state = device.state()
            self.engine.heartbeat(device.id, **{n: getattr(state, n) for n in names})


TUNNEL = web.AppKey("tunnel", TunnelHub)
"""The application's hub (set when the controller starts)."""
