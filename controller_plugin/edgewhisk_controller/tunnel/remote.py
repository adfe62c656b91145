"""RemoteInvoker: an edge device behind the tunnel, looking to the dispatcher like any invoker.

``run`` sends a ``run`` frame and waits for the ``result`` with that activation id; the
session's reader routes it here (``on_result``). The invoker outlives its connections: while
a device is disconnected but not yet offline its activations stay pending (those not sent yet
go out when it registers again; those it no longer holds are lost), and only going offline
(``Liveness``), a revoked token or shutdown end them with ``InvokerLost``.

Each activation id is accepted once: ``finished`` (:class:`~.pending.Ended`) remembers the
last ids this invoker was given, so a duplicate or late result (after the activation was given
up) is ignored and logged, while an id it was never given is a foreign frame (``Foreign``: the
session closes that connection). What it sends on: ``interfaces.Connection``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from functools import partial
from typing import Any, Protocol

from edgewhisk_runtime.containers import ActionSpec, RunOutcome
from edgewhisk_tunnel import (
    AGENT_LOGS_FEATURE,
    AgentLog,
    CloseCode,
    CodeMissing,
    Consumed,
    Context,
    Message,
    Metrics,
    Produce,
    Register,
    Result,
    encode,
)

from ..invokers.interface import Invoker
from ..placement.interface import InvokerState
from ..stores import Doc
from .devicelogs import DeviceLogs
from .exceptions import InvokerLost, RemoteFailure
from .health import Liveness, RoundTrip
from .interfaces import Connection
from .patience import result_patience_s
from .pending import LATE, Ended, Foreign, Pending
from .tokens import DeviceToken
from .twins import (
    CONTEXT_COLUMNS,
    encode_run,
    invoker_state,
    run_message,
    run_outcome,
    store_of,
)

log = logging.getLogger(__name__)

class Owner(Protocol):
    """What a RemoteInvoker reports to (the hub)."""

    def offline(self, device: RemoteInvoker) -> None: ...

    def changed(self, device: RemoteInvoker, **changes: Any) -> None: ...

    def held(self, device: RemoteInvoker, now: Iterable[str]) -> None: ...

    def cold(self, device: RemoteInvoker, keys: Iterable[str]) -> None: ...

    async def push(self, invoker_id: str, doc: Doc) -> str: ...


class RemoteInvoker(Invoker):
    outlives_controller = True  # the agent runs on when the controller dies

    def __init__(self, owner: Owner, token: DeviceToken, register: Register,
                 offline_after_s: float) -> None:
        self.id = token.id
        self.namespace = token.namespace
        self.owner = owner
        self.register = register
        self.session: Connection | None = None
        self.online = False  # in the registry (registered and not offline since)
        self.draining = False
        self.closed = False
        self.pending: dict[str, Pending] = {}
        self.finished = Ended()  # activation id -> how it ended
        self.liveness = Liveness(offline_after_s, lambda: owner.offline(self))
        self.rtt = RoundTrip()
        self.context: dict[str, Any] = {}  # battery, charging, idle, metered... (latest reported)
        self.context_reports = 0  # context frames received (bench fleet: CPU per context event)
        self.metrics = Metrics()
        self.holds: frozenset[str] = frozenset()  # registry keys the device reports holding
        self.connections = 0  # registrations so far (the metrics' reconnects)
        self.logs = DeviceLogs()  # readers of the agent's own log (agent.logs)

    # -- the Invoker contract ---------------------------------------------------------------

    def state(self) -> InvokerState:
        return invoker_state(self.register, self.metrics, namespace=self.namespace,
                             healthy=self.healthy, in_flight=len(self.pending),
                             held_mb=sum(p.memory_mb for p in self.pending.values()),
                             networks=self.context.get("networks"), holds=self.holds,
                             context=self.context)

    @property
    def healthy(self) -> bool:
        """Placement may send it work: connected, not draining, not gone."""
        return self.session is not None and self.online and not self.draining and not self.closed

    async def run(self, spec: ActionSpec, value: Any, fields: Mapping[str, str], *,
                  consumes: Sequence[Consumed] = (),
                  produces: Sequence[Produce] = ()) -> RunOutcome:
        activation_id = fields["activation_id"]
        if self.closed or not self.online:
            raise InvokerLost(self.id, "it is offline")
        build = partial(run_message, spec, value, fields, consumes, produces)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[RunOutcome] = loop.create_future()
        pending = Pending(build, spec.memory_mb, spec.logs_mb * 1024 * 1024, future,
                          produces=tuple(produces), key=spec.key,
                          has_code=spec.code is not None)
        # NotDeliverable before the activation is registered (nothing to undo), and now
        # rather than when a disconnected device is back
        send: tuple[Connection, str] | None = None
        if self.session is None:
            encode_run(self.id, build())
        else:
            send = (self.session, self._frame(pending, self.session))
        self.pending[activation_id] = pending
        patience_s = result_patience_s(spec.timeout_ms)
        pending.deadline = loop.time() + patience_s
        # A timer that loses the activation, not ``wait_for(shield(...))``: the same outcome
        # (``InvokerLost`` once the patience is over, unless the result came first) without
        # a task and two futures per activation. It fires at the deadline a hand-off reads.
        timer = loop.call_at(pending.deadline, self._expire, activation_id, patience_s)
        try:
            if send is not None:
                await self._deliver(pending, *send)
            return await future
        finally:
            timer.cancel()
            if self.pending.pop(activation_id, None) is not None:  # cancelled by the caller
                self._forget(activation_id, "abandoned")

    def _expire(self, activation_id: str, patience_s: float) -> None:
        if activation_id in self.pending:
            self._lose(activation_id, f"no result within {patience_s:g} s")

    async def preload(self, doc: Doc) -> str:
        """Pushed to the device through its owner (the hub's artifact service)."""
        return await self.owner.push(self.id, doc)

    async def close(self) -> None:
        """Shutdown: give up every pending activation, close the connection; idempotent."""
        if self.closed:
            return
        self.closed = True
        self.liveness.stop()
        self.lose_all("the controller is shutting down")
        session, self.session = self.session, None
        if session is not None:
            await session.close(CloseCode.GOING_AWAY, "the controller is shutting down")

    # -- connections ------------------------------------------------------------------------

    def adopt(self, activation_id: str, memory_mb: int, logs_limit: int,
              produces: tuple[Produce, ...], future: asyncio.Future[RunOutcome],
              session: Connection) -> None:
        """An activation a previous run of the controller sent here (start-up recovery): it
        counts as sent on ``session``, so ``attach`` keeps it if the device holds it (its
        result then ends ``future``, once) and loses it otherwise."""
        self.pending[activation_id] = Pending(None, memory_mb, logs_limit, future,
                                              sent_on=session, produces=produces)

    async def attach(self, session: Connection, register: Register) -> Connection | None:
        """``session`` registered as this invoker; returns the connection it replaces.

        Activations not sent yet go out now; those sent before that the device no longer
        holds (``register.holding``) are lost: re-sending could run them twice. Held ids this
        controller does not know (it restarted since, and gave them up or never accepted
        them) are remembered as ended, so that their results are ignored, not foreign.
        """
        previous, self.session = self.session, session
        self.register = register
        self.draining = False
        self.context = {}
        self.liveness.seen()
        self._holding(register.cached)
        holding = set(register.holding)
        for activation_id, pending in list(self.pending.items()):
            if pending.sent_on is None:
                continue
            if activation_id not in holding:
                self._lose(activation_id, "it reconnected without the activation")
            else:  # the device resends all its frames of an unconfirmed result
                pending.logs, pending.log_bytes = [], 0
        for activation_id in holding:
            if activation_id not in self.pending and activation_id not in self.finished:
                self._forget(activation_id, "unknown")
        for pending in list(self.pending.values()):
            if pending.sent_on is None:
                await self._send(pending, session)
        return previous if previous is not session else None

    def hand_off(self) -> list[tuple[str, Pending]]:
        """The device registered with another controller of the cluster: the activations
        sent to it and not ended, given up here (ended ``moved``: a result that reaches this
        controller after all is late) for the caller to wait for their outcomes from that
        controller, which the device's results reach now (``cluster/handoff.py``)."""
        handed = [(aid, p) for aid, p in self.pending.items() if p.sent_on is not None]
        for activation_id, _ in handed:
            del self.pending[activation_id]
            self._forget(activation_id, "moved")
        return handed

    def detach(self, session: Connection) -> bool:
        """``session`` ended; True if it was the current one (then no new work comes here)."""
        if self.session is not session:
            return False
        self.session = None
        return True

    async def _send(self, pending: Pending, session: Connection) -> None:
        await self._deliver(pending, session, self._frame(pending, session))

    @staticmethod
    async def _deliver(pending: Pending, session: Connection, frame: str) -> None:
        pending.sent_on = session
        await session.send_frame(frame)

    def _frame(self, pending: Pending, session: Connection, *, code: bool = False) -> str:
        """``pending``'s run frame on ``session``: without its code when the connection
        speaks protocol 2 and that code went out on it already (unless ``code``). Why per
        connection: an agent that reconnected may have restarted; one that evicted the code
        since answers ``code.missing`` (``on_code_missing``)."""
        assert pending.build is not None  # adopted ones count as sent: never sent again
        if session.protocol < 2 or not pending.has_code:
            return encode_run(self.id, pending.build())
        omit = not code and pending.key in session.code_keys
        frame = encode_run(self.id, pending.build(omit_code=omit))
        session.code_keys.add(pending.key, None)
        return frame

    # -- frames from the device (routed by the session's reader) ----------------------------

    def on_result(self, result: Result) -> None:
        """Ends the activation; what the device holds after it (``result.cached``, protocol
        2) is applied first, so whoever the completion wakes (a flow's next step, placed by
        where the run's produced artifact is) sees the device holding it."""
        if result.cached is not None:
            self.owner.changed(self, cached=self._cached(result.cached))
        pending = self._take(result.activation_id, "result")
        if pending is None:
            return
        if result.error is not None:
            pending.future.set_exception(RemoteFailure(self.id, result.error))
            return
        assert result.outcome is not None  # the schema guarantees one of the two
        pending.future.set_result(run_outcome(result.outcome, pending.logs))

    async def on_code_missing(self, message: CodeMissing) -> None:
        """The device does not have the code a ``run`` omitted: sent again, once, with it
        (a second refusal loses the activation; nothing ran either time)."""
        pending = self.pending.get(message.activation_id)
        if pending is None:
            self._unknown(message.activation_id, "code.missing")
            return
        session = self.session
        if pending.build is not None and pending.key != message.key:
            raise Foreign(f"code.missing of {message.key!r} for activation "
                          f"{message.activation_id!r}, whose action is {pending.key!r}")
        if pending.build is None or session is None or pending.code_resent:
            self._lose(message.activation_id, "the device refused the run: it does not have "
                                              "the action's code")
            return
        pending.code_resent = True
        pending.sent_on = session
        await session.send_frame(self._frame(pending, session, code=True))

    def on_logs(self, activation_id: str, lines: tuple[str, ...]) -> None:
        pending = self.pending.get(activation_id)
        if pending is None:
            self._unknown(activation_id, "logs")
            return
        pending.add_logs(lines)

    def on_context(self, context: Context) -> None:
        """Placement hears only what changed: pending work waiting for a context change is
        re-tried on the changes it waits for (``dispatch/pending.py``), so a report repeating
        the charging state with a new battery level must not look like a charging change."""
        self.context_reports += 1
        changes: dict[str, Any] = {}
        for name in CONTEXT_COLUMNS:
            value = getattr(context, name)
            if value is not None and self.context.get(name, getattr(self.register, name)) != value:
                self.context[name] = value
                changes[name] = value
        if context.networks is not None:
            self.context["networks"] = context.networks
            changes["networks"] = frozenset(context.networks)
        if context.cached is not None:
            changes["cached"] = self._cached(context.cached)
        if changes:
            self.owner.changed(self, **changes)

    def _cached(self, keys: tuple[str, ...]) -> frozenset[str]:
        """The device reports holding ``keys`` (a ``context`` or, protocol 2, a ``result``):
        the registry's copies follow; what placement is to hear (the caller tells it once,
        with whatever else changed)."""
        self.context["cached"] = keys
        self._holding(keys)
        return self.state().cached

    def _holding(self, keys: Iterable[str]) -> None:
        """The device holds ``keys`` (registry keys): the registry's copies follow."""
        self.holds = frozenset(keys)
        self.owner.held(self, self.holds)

    def planned_upload(self, ref: str) -> Produce | None:
        """The ``cloud`` produce ``ref`` of an activation pending here (what an upload must
        be), else None."""
        for pending in self.pending.values():
            for produce in pending.produces:
                if produce.ref == ref and produce.locality == "cloud":
                    return produce
        return None

    @property
    def streams_logs(self) -> bool:
        """Whether the agent streams its own log (its metrics said so)."""
        return self.metrics.values.get(AGENT_LOGS_FEATURE) == 1

    async def send(self, message: Message) -> bool:
        """Send ``message`` on the current connection; False when there is none."""
        session = self.session
        return session is not None and await session.send_frame(encode(message))

    def on_agent_log(self, message: AgentLog) -> None:
        self.logs.received(message)

    def on_metrics(self, metrics: Metrics) -> None:
        self.metrics = metrics
        if metrics.cold:
            self.owner.cold(self, metrics.cold)

    def on_drain(self) -> None:
        self.draining = True
        self.owner.changed(self, healthy=False)

    # -- ending activations -----------------------------------------------------------------

    def lose_all(self, why: str) -> None:
        """Every pending activation ends with ``InvokerLost(why)`` (the dispatcher decides
        between re-dispatching and recording a whisk internal error)."""
        for activation_id in list(self.pending):
            self._lose(activation_id, why)
        self.logs.end_all()  # and so do the readers of its log

    def _lose(self, activation_id: str, why: str) -> None:
        pending = self.pending.pop(activation_id)
        self._forget(activation_id, "lost")
        if not pending.future.done():
            log.warning("invoker %s: activation %s is lost: %s", self.id, activation_id, why)
            pending.future.set_exception(
                InvokerLost(self.id, why, maybe_started=pending.sent_on is not None))

    def _take(self, activation_id: str, what: str) -> Pending | None:
        pending = self.pending.pop(activation_id, None)
        if pending is None:
            self._unknown(activation_id, what)
            return None
        self._forget(activation_id, "done")
        return pending if not pending.future.done() else None

    def _unknown(self, activation_id: str, what: str) -> None:
        how = self.finished.get(activation_id)
        if how is None:
            raise Foreign(f"{what} for activation {activation_id!r}, which invoker "
                          f"{self.id!r} was not given")
        log.info("invoker %s: ignored a %s %s for activation %s", self.id,
                 "late" if how in LATE else "duplicate", what,
                 activation_id)

    def _forget(self, activation_id: str, how: str) -> None:
        self.finished.add(activation_id, how)

    def status(self) -> dict[str, Any]:
        """What the status API shows about this invoker."""
        reg = self.register
        return {
            "id": self.id, "namespace": self.namespace, "online": self.online,
            "connected": self.session is not None, "healthy": self.healthy,
            "draining": self.draining, "role": reg.role, "owner": reg.owner, "site": reg.site,
            "labels": dict(reg.labels), "capabilities": list(reg.capabilities),
            "networks": sorted(self.state().networks), "kinds": list(reg.kinds),
            "memory_mb": reg.memory_mb, "in_flight": len(self.pending),
            "rtt_ms": None if self.rtt.ms is None else round(self.rtt.ms, 3),
            "last_heartbeat_s": round(self.liveness.silent_s, 3),
            "context": {**{name: getattr(reg, name) for name in CONTEXT_COLUMNS
                            if getattr(reg, name) is not None},
                        **{k: list(v) if isinstance(v, tuple) else v
                           for k, v in self.context.items()}},
            "context_reports": self.context_reports,
            "agent_version": reg.agent_version, "cached": sorted(self.holds),
            "where": "tunnel", "version": reg.agent_version, "protocol": reg.protocol,
            "free_memory_mb": self.state().free_memory_mb,
            "store": store_of(self.metrics.values),
        }

