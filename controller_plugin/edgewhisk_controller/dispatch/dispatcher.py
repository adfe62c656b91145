"""The Dispatcher: from "invoke this action" to a stored activation record.

It creates the activation id, asks placement for an invoker, runs the action there with the
``__OW_*`` fields, turns the outcome into an OpenWhisk record (``schema.activation``) and stores
it. Why every activation runs as its own task: a blocking request waits only up to its wait
limit (then the API answers 202) while the activation goes on and is recorded when done;
a client that hangs up cancels its wait, never the activation. Every activation is stored
exactly once, failures included: no invoker, a broken backend, a bug and a controller shutdown
all end as a whisk internal error record, never as a lost activation.

With an artifact registry, an activation's artifacts are planned around its run
(``artifacts.py``): consumes resolved to registry versions before placement, the locality
rules checked against the chosen invoker, produced versions allocated, and what the invoker
kept registered and referenced in the result. A refusal (an unknown artifact, a selector
matching nothing, a locality rule) is the activation's whisk error; nothing runs.

Why nothing is acknowledged before it is on disk (``journal.py``): a non-blocking invoke answers
202 only once its ``accepted`` document is stored, a blocking one answers 200 only once its
record is, so a controller killed outright loses no acknowledged work: start-up recovery
(``recovery.py``) re-runs or finishes whatever was accepted and not recorded. The writes of
concurrent activations share one commit (group commit), which keeps the cost of the guarantee
low; ``durable=False`` answers first and writes behind (the controller benchmark's comparison).
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from .. import preprocess
from ..artifacts.gates import GateKeeper
from ..artifacts.standing import StandingPreloads
from ..background import Tasks
from ..invokers.registry import InvokerRegistry
from ..placement.constraints import ASKING_DEVICE
from ..placement.interface import PlacementEngine
from ..schema import activation as act
from ..schema import stored
from ..stores import Doc, Store
from . import conductor, fanout, resolve, sequence, triggers
from .exceptions import DispatcherClosed, NotPending
from .growth import DataGrowth
from .job import Accounting, Job
from .journal import Journal
from .pending import PendingWork
from .records import now_ms
from .running import Running

if TYPE_CHECKING:
    from ..artifacts import ArtifactRegistry
    from ..preprocess import Compiler

log = logging.getLogger(__name__)

CLOSE_GRACE_S = 10.0


@dataclass(frozen=True)
class Invocation:
    """What ``invoke`` answers: the id, and the record if it finished within the wait."""

    activation_id: str
    record: act.ActivationRecord | None  # None: non-blocking, or still running at wait_s
    fanout: dict[str, Any] | None = None  # a fan-out's children (``dispatch/fanout.py``)
    waiting: dict[str, Any] | None = None  # pending: what it waits for (``pending.py``)


class Dispatcher(Running):
    def __init__(
        self,
        store: Store,
        invokers: InvokerRegistry,
        placement: PlacementEngine,
        *,
        api_host: str,
        compiler: Compiler | None = None,
        artifacts: ArtifactRegistry | None = None,
        durable: bool = True,
        composer_redis: str | None = None,
        explain: bool = True,
    ) -> None:
        """``artifacts``: the registry that consumes resolve against and produces are
        registered in; without it the runtime finds artifacts on its own (its folder).
        ``durable=False``: answer before writing (see the module docstring). ``explain``:
        every placed activation's record says why it ran there (``placement`` annotation).
        ``composer_redis``: the Redis URI compositions get by default (``conductor.py``)."""
        self.explain = explain
        self.store = store
        self.artifacts = artifacts
        self.invokers = invokers
        self.placement = placement
        self.api_host = api_host
        self.composer_redis = composer_redis
        self.compiler = compiler if compiler is not None else preprocess.Compiler(
            preprocess.weights_of(placement.config))
        self.gates = GateKeeper(store, artifacts)  # what gate verdicts do (artifacts/gates.py)
        self._tasks = Tasks("an activation could not be recorded")
        self.journal = Journal(store, durable=durable)
        self.pending = PendingWork(placement)  # activations waiting to be placed
        self.growth = DataGrowth(self)  # data-growth triggers (``growth.py``)
        self.standing = None if artifacts is None else StandingPreloads(  # standing preloads
            store, artifacts, placement, lambda id: invokers.get(id) if id in invokers else None,
            lambda: [invoker.id for invoker in invokers])
        self._in_flight: collections.Counter[str] = collections.Counter()  # by namespace
        self._running: dict[str, asyncio.Task[Any]] = {}  # activation id -> its task
        self._closed = False
        self.on_record: list[Callable[[act.ActivationRecord], None]] = []
        # ^ told every stored record once (``observe/``: metrics count activations there)

    # -- the API's entry points -------------------------------------------------------------

    async def invoke(
        self,
        ns: str,
        action: Doc,
        params: dict[str, Any],
        *,
        subject: str,
        blocking: bool,
        wait_s: float,
        cause: str | None = None,
        api_key: str | None = None,
        site: str | None = None,
        binding: str | None = None,
        asker: str | None = None,
    ) -> Invocation:
        """Start an activation of ``action`` (a stored action document) in namespace ``ns``.

        ``params`` are the request's; the action's parameters are merged under them. A
        blocking call waits up to ``wait_s`` seconds for the record; conductor actions run
        the conductor protocol (``conductor.py``). The annotation's variables are bound from
        the merged parameters (``UnboundVariable``, a 400, names one that is not); an unbound
        ``{usr}`` fans out (``fanout.py``). ``site`` is the caller's (``X-Edgewhisk-Site``);
        ``binding`` the package binding the action was reached through (``ns/binding``);
        ``asker`` the device whose agent forwarded the invoke, preferred where the policy
        lets it run (``AskingDevice``, soft; not for a fan-out, a sequence or a conductor).
        Raises ``DispatcherClosed`` once closing.
        """
        job = Job(ns, action, dict(params), subject, now_ms(), api_key, cause, binding=binding)
        if self._closed:
            raise DispatcherClosed()
        compiled = None if stored.is_conductor(action) or stored.is_sequence(action) \
            else self._compiled(action)
        if compiled is not None:
            merged = stored.merged_parameters(action, job.payload)
            if preprocess.unbound(compiled, merged) == {preprocess.FANOUT_VARIABLE}:
                parent, record, summary = await fanout.run(
                    self, job, compiled, self._request(job, site), site=site,
                    blocking=blocking, wait_s=wait_s)
                return Invocation(parent, record, summary)
            bound = preprocess.bind(compiled, merged, site=site)
            if asker is not None:
                bound = preprocess.asked_by(bound, asker,
                                            self.placement.config.weight(ASKING_DEVICE))
            job = replace(job, bound=bound)
        if not blocking:
            activation_id, _ = await self.start_accepted(job)
            return Invocation(activation_id, None)
        activation_id, task = self.start(job, blocking=True)
        done, _ = await asyncio.wait({task}, timeout=wait_s)
        if done:
            return Invocation(activation_id, task.result())
        await self.journal.accept([activation_id])  # its id is about to be handed out
        return Invocation(activation_id, None, waiting=self.pending.describe(activation_id))

    async def fire(
        self,
        ns: str,
        trigger: Doc,
        params: dict[str, Any],
        *,
        subject: str,
        api_key: str | None = None,
    ) -> str | None:
        """Fire ``trigger``: record its activation, invoke its active rules' actions.

        Returns the trigger activation id, or None when the trigger has no active rule (then,
        as upstream, nothing is recorded and the API answers 204).
        """
        if self._closed:
            raise DispatcherClosed()
        return await triggers.fire(self, ns, trigger, params, subject=subject, api_key=api_key)

    async def close(self, grace_s: float = CLOSE_GRACE_S) -> None:
        """Refuse new activations, let running ones finish for ``grace_s``, abort the rest.

        Aborted activations are recorded as whisk internal errors; pending ones (waiting to
        be placed) stay accepted, and the next start lets them wait again. Invokers and the store
        belong to the caller and stay open. Idempotent.
        """
        self._closed = True
        waiting = {self._running[i] for i in self.pending.items if i in self._running}
        busy = set(self._tasks) - waiting
        if busy:  # pending work stays accepted: the next start resumes it
            await asyncio.wait(busy, timeout=grace_s)
        await self._tasks.close(timeout=None)  # a cancelled activation records its abort
        await self.journal.close()

    # -- used by the conductor loop and trigger firing --------------------------------------

    def start(
        self, job: Job, *, accounting: Accounting | None = None, primitive: bool = False,
        blocking: bool = False,
    ) -> tuple[str, asyncio.Task[act.ActivationRecord]]:
        """Start ``job`` in the background; return its activation id and task.

        The task's result is the record, stored (``durable=False``: on its way, ``written``
        waits for it). A conductor action runs a composition unless ``primitive`` (one
        conductor run). Its id is not durably accepted yet: ``journal.accept`` before handing
        it out (or use ``start_accepted``).
        """
        if self._closed:
            raise DispatcherClosed()
        activation_id = act.new_activation_id()
        self.journal.register(activation_id, self.accepted_doc(job, activation_id, blocking))
        return activation_id, self.launch(job, activation_id, accounting, primitive)

    async def start_accepted(self, job: Job) -> tuple[str, asyncio.Task[act.ActivationRecord]]:
        """``start``, once the activation is durably accepted (nothing runs if that fails)."""
        if self._closed:
            raise DispatcherClosed()
        activation_id = act.new_activation_id()
        self.journal.register(activation_id, self.accepted_doc(job, activation_id, False))
        try:
            await self.journal.accept([activation_id])
        except BaseException:
            self.journal.forget(activation_id)
            raise
        return activation_id, self.launch(job, activation_id)

    def launch(self, job: Job, activation_id: str, accounting: Accounting | None = None,
               primitive: bool = False) -> asyncio.Task[act.ActivationRecord]:
        """Run registered activation ``activation_id`` of ``job`` (recovery re-runs one)."""
        if self._closed:
            raise DispatcherClosed()
        if not primitive and stored.is_conductor(job.action):
            coro = conductor.run(self, job, activation_id, accounting or Accounting(),
                                 self.composer_redis)
        elif stored.is_sequence(job.action):
            coro = sequence.run(self, job, activation_id, accounting or Accounting())
        else:
            coro = self._run(job, activation_id)
        task = self.spawn(coro)
        self._in_flight[job.ns] += 1
        self._running[activation_id] = task
        task.add_done_callback(lambda _: self._in_flight.subtract((job.ns,)))
        task.add_done_callback(lambda _: self._running.pop(activation_id, None))
        return task

    async def cancel(self, activation_id: str) -> act.ActivationRecord:
        """Cancel a pending activation: its record (a whisk error saying so) once stored;
        ``NotPending`` for any other."""
        task = self._running.get(activation_id)
        if task is None or not self.pending.cancel(activation_id):
            raise NotPending()
        rec: act.ActivationRecord = await asyncio.shield(task)
        return rec

    def in_flight(self, ns: str) -> int:
        """Activations of ``ns`` started and not finished (the concurrency throttle reads it)."""
        return self._in_flight[ns]

    def in_flight_total(self) -> int:
        """Activations of every namespace started and not finished (the metrics read it)."""
        return sum(self._in_flight.values())

    async def resolve(self, ns: str, fqn: str) -> resolve.Resolved:
        """The action a sequence, a composition or a rule names (``/ns/pkg/name``), as
        namespace ``ns`` may run it:
        parameters inherited from its package and binding (``NotFound``, ``Forbidden``)."""
        return await resolve.resolve_name(self.store, ns, fqn)

    @staticmethod
    def accepted_doc(job: Job, activation_id: str, blocking: bool) -> act.AcceptedDoc:
        name = str(job.action.get("name", ""))
        where = f"{job.binding}/{name}" if job.binding else stored.action_path(job.ns, job.action)
        return act.accepted(
            namespace=job.ns, name=name, path=f"/{where}",
            version=str(job.action.get("version", "0.0.1")), subject=job.subject,
            activation_id=activation_id, start=job.received_ms, payload=job.payload,
            blocking=blocking, api_key=job.api_key is not None,
            composition=job.in_composition, cause=job.cause)

    async def accept(self, ids: Sequence[str]) -> None:
        """Until the activations ``ids`` (started) are durably accepted: before handing out
        their ids (a fan-out's children)."""
        await self.journal.accept(ids)

    async def written(self, activation_id: str | None = None) -> None:
        """Until the record of ``activation_id`` (None: of every activation answered so far)
        is stored, when records are written behind answers (``durable=False``); readers
        call it so that an answered activation is always found."""
        await self.journal.written(activation_id)
