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
import functools
import logging
import time
import uuid
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import edgewhisk
from edgewhisk_runtime.containers.exceptions import NamespaceRefused

from .. import preprocess
from ..artifacts.exceptions import LocalityRefused
from ..artifacts.gates import GateKeeper
from ..artifacts.plan import ArtifactPlan
from ..artifacts.standing import StandingPreloads
from ..exceptions import ControllerError
from ..invokers.interface import Invoker
from ..invokers.registry import InvokerRegistry
from ..placement.interface import Decision, PlacementEngine, PlacementRequest, Unschedulable
from ..schema import activation as act
from ..schema import stored
from ..schema.exceptions import CorruptedAction
from ..stores import Doc, Store
from ..tunnel.exceptions import InvokerLost, TunnelError
from . import (
    artifacts,
    conductor,
    deferred,
    fanout,
    gating,
    resolve,
    sequence,
    sources,
    triggers,
)
from .exceptions import DispatcherClosed, NotPending
from .growth import DataGrowth
from .job import Accounting, Job
from .journal import Journal
from .pending import PendingWork
from .spec import spec_of

if TYPE_CHECKING:
    from edgewhisk_runtime.containers import ActionSpec, RunOutcome
    from edgewhisk_tunnel import Consumed, Produce

    from ..artifacts import ArtifactRegistry
    from ..preprocess import BoundAction, Compiler

log = logging.getLogger(__name__)

CLOSE_GRACE_S = 10.0
REDISPATCH_LIMIT = 3
"""How often an activation whose edge invoker was lost is placed again: always when it never
left the controller, only for ``idempotent`` actions when it may have started."""


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class Invocation:
    """What ``invoke`` answers: the id, and the record if it finished within the wait."""

    activation_id: str
    record: act.ActivationRecord | None  # None: non-blocking, or still running at wait_s
    fanout: dict[str, Any] | None = None  # a fan-out's children (``dispatch/fanout.py``)
    waiting: dict[str, Any] | None = None  # pending: what it waits for (``pending.py``)


class Dispatcher:
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
        self._tasks: set[asyncio.Task[Any]] = set()
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
    ) -> Invocation:
        """Start an activation of ``action`` (a stored action document) in namespace ``ns``.

        ``params`` are the request's; the action's parameters are merged under them. A
        blocking call waits up to ``wait_s`` seconds for the record; conductor actions run
        the conductor protocol (``conductor.py``). The annotation's variables are bound from
        the merged parameters (``UnboundVariable``, a 400, names one that is not); an unbound
        ``{usr}`` fans out (``fanout.py``). ``site`` is the caller's (``X-Edgewhisk-Site``);
        ``binding`` the package binding the action was reached through (``ns/binding``).
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
            job = replace(job, bound=preprocess.bind(compiled, merged, site=site))
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
        if self._tasks - waiting:  # pending work stays accepted: the next start resumes it
            await asyncio.wait(self._tasks - waiting, timeout=grace_s)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
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

    async def record(self, rec: act.ActivationRecord) -> act.ActivationRecord:
        """Store ``rec`` once, durably (activation ids are fresh: a duplicate would be a
        Conflict), dropping its ``accepted`` document in the same commit. A cancellation
        arriving mid-write does not cancel the write (``close`` waits for it)."""
        return self._recorded(await self.journal.finish(rec))

    def _recorded(self, rec: act.ActivationRecord) -> act.ActivationRecord:
        """Tell ``on_record`` about a stored record (a listener's bug never loses it)."""
        for listener in self.on_record:
            try:
                listener(rec)
            except Exception:
                log.exception("a record listener failed")
        return rec

    async def accept(self, ids: Sequence[str]) -> None:
        """Until the activations ``ids`` (started) are durably accepted: before handing out
        their ids (a fan-out's children)."""
        await self.journal.accept(ids)

    async def written(self, activation_id: str | None = None) -> None:
        """Until the record of ``activation_id`` (None: of every activation answered so far)
        is stored, when records are written behind answers (``durable=False``); readers
        call it so that an answered activation is always found."""
        await self.journal.written(activation_id)

    # -- placement ---------------------------------------------------------------------------

    def _compiled(self, action: Doc) -> preprocess.CompiledAction | None:
        """The compiled action; None for a corrupted document (its run records why)."""
        try:
            return self.compiler.compile(action)
        except (CorruptedAction, edgewhisk.AnnotationError, KeyError):
            return None

    def _bound(self, job: Job) -> BoundAction:
        """The job's bound constraints (activations not started by ``invoke`` bind here)."""
        if job.bound is not None:
            return job.bound
        try:
            compiled = self.compiler.compile(job.action)
        except edgewhisk.AnnotationError as exc:
            raise CorruptedAction(f"The action's edgewhisk annotation is invalid: {exc}") from exc
        return preprocess.bind(compiled, stored.merged_parameters(job.action, job.payload))

    def _place(self, request: PlacementRequest, bound: BoundAction,
               planned: ArtifactPlan) -> Decision:
        """The placement engine's decision, unless a ``network:`` version the activation
        consumes has no holder in its network now (``sources.py``: it waits, or fails, until
        one is). A choice the locality rules refuse is left for ``artifacts.check`` to refuse,
        naming the rule, as before."""
        decision = self.placement.place(request, bound)
        if not isinstance(decision, str) or not planned.consumed:
            return decision
        try:
            artifacts.check(planned, self.invokers.get(decision), bound)
        except LocalityRefused:
            return decision
        return sources.unreachable(planned.docs, self.invokers.states) or decision

    def _request(self, job: Job, site: str | None) -> PlacementRequest:
        return PlacementRequest(
            action=stored.action_path(job.ns, job.action),
            kind=stored.exec_of(job.action)["kind"],
            memory_mb=stored.limits(job.action)["memory"],
            namespace=job.ns,
            annotation=stored.annotation(job.action, "edgewhisk"),
            version=str(job.action.get("version", "0.0.1")),
            site=site,
        )

    def place_many(self, request: PlacementRequest,
                   bounds: Sequence[BoundAction]) -> Sequence[Decision]:
        """A decision per bound action (a fan-out)."""
        return self.placement.place_many(request, bounds)

    async def _run_on(self, invoker: Invoker, spec: ActionSpec, value: Any,
                      fields: dict[str, str], key: str, consumes: Sequence[Consumed] = (),
                      produces: Sequence[Produce] = (),
                      journaled: dict[str, Any] | None = None,
                      charged: bool = False) -> RunOutcome:
        """``invoker.run``, keeping the engine's state in step: ``placed`` before (in the same
        step as the decision: nothing awaits in between), ``completed`` after, with the run
        time and whether a container of ``key`` stays warm there (not after a failed init).
        An invoker whose runs outlive the controller is recorded in the journal first, with
        ``journaled`` (``artifacts.journaled``: what registering its outputs needs).

        Artifacts go along only when there are some, so an invoker that predates them
        still runs every activation without. ``charged``: placed by pending work, which
        charged the invoker when it decided (``pending.py``)."""
        engine = self.placement
        extra: dict[str, Any] = {"consumes": consumes, "produces": produces} \
            if consumes or produces else {}
        if not charged:
            engine.placed(invoker.id, spec.memory_mb, key)
        run_ms: float | None = None
        warm = False
        try:
            activation_id = fields["activation_id"]
            if invoker.outlives_controller:  # recovery must find it there after a crash
                await self.journal.placed(activation_id, invoker.id, journaled)
            elif self.journal.placed_on(activation_id) is not None \
                    or self.journal.pending_of(activation_id) is not None:  # moved off an edge
                await self.journal.placed(activation_id, None)  # or no longer waiting
            outcome = await invoker.run(spec, value, fields, **extra)
            run_ms, warm = float(outcome.duration_ms), not outcome.init_failed
            return outcome
        finally:
            engine.completed(invoker.id, spec.memory_mb, key, run_ms, warm)
            # The pool's own account also counts idle warm containers: it wins.
            engine.heartbeat(invoker.id, free_memory_mb=invoker.state().free_memory_mb)

    def owners(self, ns: str) -> Sequence[str]:
        """The users on record for ``ns``: owners of the invokers visible to it."""
        return self.placement.owners(ns)

    # -- one action activation --------------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, act.ActivationRecord]) -> asyncio.Task[Any]:
        """Run ``coro`` (one activation to its record) as a task ``close`` waits for."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("an activation could not be recorded", exc_info=task.exception())

    async def _run(self, job: Job, activation_id: str) -> act.ActivationRecord:
        """Place and run one action activation, then record it whatever happened."""
        try:
            rec = await self._execute(job, activation_id)
        except asyncio.CancelledError:
            if not (self._closed and self.journal.pending_of(activation_id) is not None):
                await self.record(self.failure(job, activation_id, act.ABORTED))
            raise  # a pending one stays accepted: the next start lets it wait again
        except ControllerError as exc:  # e.g. an unreadable action document
            rec = self.failure(job, activation_id, exc.message)
        except Exception:
            log.exception("activation %s failed inside the controller", activation_id)
            rec = self.failure(job, activation_id, act.INTERNAL_ERROR)
        return self._recorded(await self.journal.finish(gating.annotate(rec, job.action),
                                                        behind=not self.journal.durable))

    async def _execute(self, job: Job, activation_id: str) -> act.ActivationRecord:
        ns, action = job.ns, job.action
        value = stored.merged_parameters(action, job.payload)
        init_keys = stored.init_parameters(action)
        env = {key: value.pop(key) for key in init_keys if key in value}
        spec = spec_of(ns, action, api_host=self.api_host, init_env=env)
        bound = self._bound(job)
        planned = await artifacts.plan(self.artifacts, job, bound, self.placement)
        bound = artifacts.rekeyed(bound, planned)
        refused = await gating.refusal(self, job, activation_id, planned, bound)
        if refused is not None:  # a strict gate holds: refused, or its fallback's answer
            return gating.annotate(self.failure(job, activation_id, "", refused.invoker,
                                                response=refused.response),
                                   action, refused.entries)
        request = self._request(job, bound.site)
        place = functools.partial(self._place, request, bound, planned)
        decision = job.invoker or place()
        waited: dict[str, Any] | None = None
        if isinstance(decision, Unschedulable):
            if bound.compiled.wait_s is None or job.invoker is not None \
                    or job.in_composition:  # fan-out children and components do not wait
                return self.failure(job, activation_id, decision.reason)
            placed, waited = await deferred.place_or_wait(self, job, activation_id, request,
                                                          bound, decision, place)
            if not isinstance(placed, str):
                return deferred.annotate(placed, waited)
            decision = placed  # charged already: the first _run_on does not charge again
        why = self.placement.why(request, decision, bound) \
            if self.explain and not job.invoker and waited is None \
            else None  # same step: the state is as decided (a wait's decision is long past)
        invoker = self.invokers.get(decision)
        if self.standing is not None:  # the preload predictor learns what runs where
            self.standing.predictor.observe(ns, invoker.state(), [
                doc["name"] for _, doc in planned.consumed
                if doc.get("kind") == "model" and doc.get("locality") == "cloud"])
        try:
            artifacts.check(planned, invoker, bound)
            produces = await artifacts.allocate(self.artifacts, job, planned)
        except BaseException:
            if waited is not None:
                self.placement.completed(invoker.id, spec.memory_mb, bound.compiled.key, None,
                                         False)
            raise
        fields = {
            "namespace": ns,
            "action_name": f"/{stored.action_path(ns, action)}",
            "action_version": str(action.get("version", "0.0.1")),
            "activation_id": activation_id,
            "transaction_id": uuid.uuid4().hex,
        }  # no "deadline": the pool sets it to /run's start + timeout, as upstream's invoker
        if job.api_key is not None and stored.provides_api_key(action):
            fields["api_key"] = job.api_key
        for attempt in range(REDISPATCH_LIMIT + 1):
            try:
                outcome = await self._run_on(invoker, spec, value, fields,
                                             bound.compiled.key, planned.consumes(), produces,
                                             artifacts.journaled(planned, produces),
                                             charged=waited is not None and attempt == 0)
                judged = gating.judge(job, planned, produces, outcome, invoker.id)
                await artifacts.keep(self.artifacts, planned, produces, outcome, job=job,
                                     activation_id=activation_id, invoker=invoker,
                                     judged=judged)
                break
            except TunnelError as exc:  # an edge invoker went away or failed (tunnel/)
                if not (isinstance(exc, InvokerLost) and attempt < REDISPATCH_LIMIT
                        and (not exc.maybe_started or stored.is_truthy(
                            stored.annotation(action, "idempotent")))):
                    return self.failure(job, activation_id, exc.message, invoker.id)
                log.warning("re-dispatching %s: %s", activation_id, exc.message)
                decision = self.placement.place(self._request(job, bound.site), bound)
                if isinstance(decision, Unschedulable):
                    return self.failure(job, activation_id, f"{exc.message} It could not be "
                                         f"re-dispatched: {decision.reason}", invoker.id)
                invoker = self.invokers.get(decision)
                artifacts.check(planned, invoker, bound)
            except ControllerError as exc:  # the invoker could not stage or keep an artifact
                return self.failure(job, activation_id, exc.message, invoker.id)
            except NamespaceRefused as exc:  # an unsandboxed invoker: its record says why
                return self.failure(job, activation_id, str(exc), invoker.id)
            except Exception as exc:  # ContainerError and kin: the platform failed, not the action
                log.warning("invoker %s could not run %s: %r", invoker.id, activation_id, exc)
                return self.failure(job, activation_id, act.RESOURCE_PROVISION_ERROR,
                                     invoker.id)
        entries = await gating.settle(self, job, activation_id, bound, invoker.id, judged)
        rec = self.outcome_record(job, activation_id, spec, outcome, invoker.id)
        if why is not None and why["invoker"] == invoker.id:  # not after a re-dispatch
            rec["annotations"].append({"key": act.PLACEMENT, "value": why})
        return deferred.annotate(gating.annotate(rec, action, entries), waited)

    def outcome_record(self, job: Job, activation_id: str, spec: ActionSpec,
                       outcome: RunOutcome, invoker_id: str) -> act.ActivationRecord:
        """The record of a run that ended with ``outcome`` on ``invoker_id`` (recovery
        records an edge run it adopted with it too)."""
        ns, action = job.ns, job.action
        end = now_ms()
        run_start = end - outcome.duration_ms
        start = run_start - (outcome.init_ms or 0)
        response, timed_out = act.response_of(outcome, spec.timeout_ms)
        return self._build(
            job, activation_id, start, end, response, outcome.logs,
            act.run_annotations(
                path=stored.action_path(ns, action),
                kind=spec.kind,
                limits=stored.limits(action),
                timeout=timed_out,
                wait_ms=start - job.received_ms,
                init_ms=outcome.init_ms,
                invoker=invoker_id,
                caused_by_composition=job.in_composition,
                binding=job.binding,
            ),
        )

    def failure(
        self, job: Job, activation_id: str, message: str, invoker: str | None = None, *,
        response: act.Response | None = None,
    ) -> act.ActivationRecord:
        """A whisk internal error record for an activation the platform could not run (or
        the ``response`` given: a strict gate's fallback answered in its place)."""
        now = now_ms()
        kind = (job.action.get("exec") or {}).get("kind", "unknown")
        return self._build(
            job, activation_id, now, now, response or act.whisk_error(message), [],
            act.run_annotations(
                path=stored.action_path(job.ns, job.action),
                kind=kind if isinstance(kind, str) else "unknown",
                limits=stored.limits(job.action),
                timeout=False,
                wait_ms=now - job.received_ms,
                init_ms=None,
                invoker=invoker,
                caused_by_composition=job.in_composition,
                binding=job.binding,
            ),
        )

    @staticmethod
    def _build(
        job: Job,
        activation_id: str,
        start: int,
        end: int,
        response: act.Response,
        logs: list[str],
        annotations: list[act.Annotation],
    ) -> act.ActivationRecord:
        return act.record(
            namespace=job.ns,
            name=job.action.get("name", ""),
            version=str(job.action.get("version", "0.0.1")),
            subject=job.subject,
            activation_id=activation_id,
            start=start,
            end=end,
            response=response,
            logs=logs,
            annotations=annotations,
            cause=job.cause,
        )
