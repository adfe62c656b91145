"""One action activation, from its job to its record: placed, run (re-dispatched when an edge
invoker is lost), its artifacts kept and its record built, whatever happened.

Why every activation runs as its own task (``spawn``): a blocking request waits only up to its
wait limit while the activation goes on and is recorded when done; a client that hangs up
cancels its wait, never the activation. Mixed into ``Dispatcher`` (``dispatcher.py``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, cast

from edgewhisk_runtime.containers.exceptions import NamespaceRefused

from ..artifacts.standing import StandingPreloads
from ..background import Tasks
from ..exceptions import ControllerError
from ..placement.interface import Unschedulable
from ..schema import activation as act
from ..schema import stored
from ..tunnel.exceptions import InvokerLost, TunnelError
from . import artifacts, deferred, gating
from .job import Job
from .placing import Placing
from .plain import declares_nothing, is_plain
from .records import Records
from .spec import spec_of

if TYPE_CHECKING:
    from ..artifacts import ArtifactRegistry
    from .pending import PendingWork

log = logging.getLogger(__name__)


REDISPATCH_LIMIT = 3
"""How often an activation whose edge invoker was lost is placed again: always when it never
left the controller, only for ``idempotent`` actions when it may have started."""


class Running(Placing, Records):
    """Running one action activation to its stored record (a ``Dispatcher`` mixin)."""

    _tasks: Tasks
    _closed: bool
    pending: PendingWork
    api_host: str
    explain: bool
    artifacts: ArtifactRegistry | None
    standing: StandingPreloads | None

    def spawn(self, coro: Coroutine[Any, Any, act.ActivationRecord]) -> asyncio.Task[Any]:
        """Run ``coro`` (one activation to its record) as a task ``close`` waits for."""
        return self._tasks.spawn(coro)

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
        if not declares_nothing(job.action):  # else it has no gates to annotate
            rec = gating.annotate(rec, job.action)
        return self._recorded(await self.journal.finish(rec, behind=not self.journal.durable))

    async def _execute(self, job: Job, activation_id: str) -> act.ActivationRecord:
        ns, action = job.ns, job.action
        whole = cast("gating.Dispatcher", self)  # the gate steps get the whole Dispatcher
        value = stored.merged_parameters(action, job.payload)
        init_keys = stored.init_parameters(action)
        env = {key: value.pop(key) for key in init_keys if key in value}
        spec = spec_of(ns, action, api_host=self.api_host, init_env=env)
        bound = self._bound(job)
        plain = is_plain(action, bound)  # no artifact or gate step has anything to do
        planned, refused = artifacts.NONE, None
        if not plain:
            planned = await artifacts.plan(self.artifacts, job, bound, self.placement)
            bound = artifacts.rekeyed(bound, planned)
            refused = await gating.refusal(whole, job, activation_id, planned, bound)
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
            produces = () if plain else await artifacts.allocate(self.artifacts, job, planned)
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
                judged = [] if plain else gating.judge(job, planned, produces, outcome,
                                                       invoker.id)
                if not plain:
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
        entries = None if plain else await gating.settle(whole, job, activation_id, bound,
                                                         invoker.id, judged)
        rec = self.outcome_record(job, activation_id, spec, outcome, invoker.id)
        if why is not None and why["invoker"] == invoker.id:  # not after a re-dispatch
            rec["annotations"].append({"key": act.PLACEMENT, "value": why})
        return deferred.annotate(rec if plain else gating.annotate(rec, action, entries), waited)
