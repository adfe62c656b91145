"""Placement of one activation: compiled and bound constraints, the placement request, the
engine's decision and the run on the chosen invoker with the engine's state kept in step.

Mixed into ``Dispatcher`` (``dispatcher.py``); ``running.py`` calls it for every action
activation, ``fanout.py``, ``deferred.py`` and ``recovery.py`` for theirs.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import edgewhisk

from .. import preprocess
from ..artifacts.exceptions import LocalityRefused
from ..artifacts.plan import ArtifactPlan
from ..invokers.interface import Invoker
from ..invokers.registry import InvokerRegistry
from ..placement.interface import Decision, PlacementEngine, PlacementRequest
from ..schema import stored
from ..schema.exceptions import CorruptedAction
from ..stores import Doc
from . import artifacts, sources
from .job import Job
from .journal import Journal

if TYPE_CHECKING:
    from edgewhisk_runtime.containers import ActionSpec, RunOutcome
    from edgewhisk_tunnel import Consumed, Produce

    from ..preprocess import BoundAction, Compiler

log = logging.getLogger(__name__)



class Placing:
    """Asking placement and running where it decided (a ``Dispatcher`` mixin)."""

    compiler: Compiler
    placement: PlacementEngine
    invokers: InvokerRegistry
    journal: Journal

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
        naming the rule, as before; no invoker holding a ``local`` version consumed says so
        with the rule and the holders (``sources.held_only``)."""
        decision = self.placement.place(request, bound)
        if not planned.consumed:
            return decision
        if not isinstance(decision, str):
            return sources.held_only(planned.docs, decision)
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
