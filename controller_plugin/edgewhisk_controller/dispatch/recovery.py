"""Start-up recovery: finish every activation the last run of the controller accepted and never
recorded, so that no id it handed out is ever a 404 and nothing acknowledged is lost.

Each ``accepted`` document (``journal.py``) without a record becomes one of:

- **reclaimed**: it was handed to an edge invoker (``invoker``), whose agent runs on without
  the controller. The hub (``reclaim``) waits for that agent to register again; if it lists the
  activation as still running or holding its result, the result it (re)delivers is recorded,
  exactly once, with the artifacts it produced registered (``artifacts.keep_journaled``, from
  what the accepted document kept of the plan); if it comes back without it, or not at all
  within the window, the activation is lost with that invoker and treated as below.
- **re-dispatched** under the same id, when running it again cannot do harm: the action is
  annotated ``idempotent``, is still the version that was accepted, and did not get the
  caller's API key (which the controller never stores). A component of a composition is never
  re-dispatched on its own: its composition is (or is not).
- **waiting again**, when it was pending (``policy.wait``, ``pending.py``): it never ran, so it
  is launched again and waits until the ``until`` its document kept.
- **failed**: recorded as a whisk internal error, ``act.RESTARTED`` ("The controller restarted
  while the activation was running."), in OpenWhisk's record shape. An activation that ran
  inside the controller may have had effects before the crash; running a non-idempotent one
  again could repeat them.

A document whose record exists already (CouchDB stores the record and drops the document in
two requests) is only dropped. Re-dispatched and reclaimed activations run as tasks of the
dispatcher; the failures are recorded (one group commit) before the controller serves.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..exceptions import ControllerError, Forbidden, NotFound
from ..schema import activation as act
from ..schema import stored
from ..stores import Doc, Write
from ..stores.interface import get_or_none
from ..tunnel.exceptions import InvokerLost, TunnelError
from ..tunnel.patience import Reclaim, result_patience_s
from . import artifacts
from .job import Job
from .spec import spec_of

if TYPE_CHECKING:
    from edgewhisk_runtime.containers import RunOutcome

    from ..tunnel.hub import TunnelHub
    from .dispatcher import Dispatcher
    from .resolve import Resolved

log = logging.getLogger(__name__)

def through(hub: TunnelHub) -> Reclaim:
    """Reclaim through ``hub`` alone (one controller): the device's own tunnel delivers, and
    the hub bounds the wait for the device to come back, not the run."""
    return lambda invoker_id, activation_id, memory_mb, logs, produces, _patience_s: \
        hub.reclaim(invoker_id, activation_id, memory_mb, logs, produces)


@dataclass
class Recovered:
    """What start-up recovery did (the controller logs it; the tests read it)."""

    reclaimed: int = 0
    redispatched: int = 0
    failed: int = 0
    stale: int = 0


async def recover(dispatcher: Dispatcher, reclaim: Reclaim | None = None, *,
                  owned: Callable[[Doc], bool] | None = None,
                  reclaimable: Callable[[str], bool] | None = None) -> Recovered:
    """Finish what the previous run accepted (see the module docstring). ``owned``: which
    accepted documents are this controller's to finish (several controllers on one store:
    its own at a restart, a dead one's when it takes over, ``cluster/takeover.py``);
    ``reclaimable``: whether an invoker's result can be waited for (default: one not in the
    registry, an edge invoker that has not registered again yet)."""
    store, done = dispatcher.store, Recovered()
    failures: list[act.ActivationRecord] = []
    docs = [d for d in await store.list(act.ACCEPTED) if owned is None or owned(d)]
    for doc, (recorded, found) in zip(docs, await _read_all(dispatcher, docs), strict=True):
        activation_id = doc["_id"]
        if recorded:
            await store.write_many([Write(act.ACCEPTED, doc, delete=True)])
            done.stale += 1
            continue
        action = found.action if found else None
        same = action is not None and str(action.get("version", "0.0.1")) == doc["version"]
        job = Job(doc["namespace"], action if same and action else _missing(doc),
                  dict(doc.get("payload") or {}), doc["subject"], doc["start"],
                  cause=doc.get("cause"), in_composition=bool(doc.get("composition")),
                  binding=found.binding if found else None)
        dispatcher.journal.register(activation_id, _body(doc), rev=doc["_rev"])
        invoker = doc.get("invoker")
        if same and reclaim is not None and isinstance(invoker, str) \
                and (reclaimable(invoker) if reclaimable is not None
                     else invoker not in dispatcher.invokers):
            dispatcher.spawn(_reclaimed(dispatcher, job, doc, invoker, reclaim))
            done.reclaimed += 1
        elif same and (rerunnable(job.action, doc) or doc.get("pending")):
            dispatcher.launch(job, activation_id)  # a pending one never ran: it waits again
            done.redispatched += 1
        else:
            failures.append(dispatcher.failure(job, activation_id, act.RESTARTED, invoker))
            done.failed += 1
    await asyncio.gather(*(dispatcher.record(rec) for rec in failures))
    if any(vars(done).values()):
        log.warning("recovered the activations in flight at the last stop: %s", done)
    return done


READS_AT_ONCE = 16
"""Documents whose store reads run at once: a takeover's recovery holds up the registration
of the dead controller's device (``cluster/takeover.py``), and one read after another took
about a second for a dozen documents on a loaded store; bounded, so a restart with thousands
does not flood the store."""


async def _read_all(dispatcher: Dispatcher,
                    docs: list[Doc]) -> list[tuple[bool, Resolved | None]]:
    """For each accepted document, in order: whether its record exists, and its action (None
    if it is gone; not looked up when recorded). Read concurrently; the decisions that follow
    stay in order, one at a time."""
    limit = asyncio.Semaphore(READS_AT_ONCE)

    async def read(doc: Doc) -> tuple[bool, Resolved | None]:
        async with limit:
            if await get_or_none(dispatcher.store, act.COLLECTION, doc["_id"]) is not None:
                return True, None
            return False, await _action(dispatcher, doc)

    return list(await asyncio.gather(*(read(doc) for doc in docs)))


async def _action(dispatcher: Dispatcher, doc: Mapping[str, Any]) -> Resolved | None:
    """The action an accepted document names, resolved as its invoke resolved it (through
    its package and binding, with the parameters it inherits); None if it is gone."""
    fqn = doc.get("path") or f"/{doc['namespace']}/{doc['name']}"
    try:
        return await dispatcher.resolve(doc["namespace"], fqn)
    except (NotFound, Forbidden):
        return None


def rerunnable(action: Doc, accepted: Mapping[str, Any]) -> bool:
    """Whether running the accepted activation again cannot do harm (module docstring)."""
    return (stored.is_truthy(stored.annotation(action, "idempotent"))
            and not accepted.get("composition")
            and not (accepted.get("api_key") and stored.provides_api_key(action)))


async def _reclaimed(dispatcher: Dispatcher, job: Job, accepted: Doc, invoker_id: str,
                     reclaim: Reclaim) -> act.ActivationRecord:
    """Wait for the edge invoker's agent to deliver the result; record it (or the loss)."""
    activation_id = accepted["_id"]
    spec = spec_of(job.ns, job.action, api_host=dispatcher.api_host)
    try:
        outcome = await reclaim(invoker_id, activation_id, spec.memory_mb,
                                spec.logs_mb * 1024 * 1024,
                                artifacts.journaled_produces(accepted.get("artifacts")),
                                result_patience_s(spec.timeout_ms))
    except InvokerLost as exc:
        if rerunnable(job.action, accepted):
            log.warning("re-dispatching %s: %s", activation_id, exc.message)
            return await dispatcher.launch(job, activation_id)
        return await dispatcher.record(dispatcher.failure(job, activation_id, exc.message,
                                                          invoker_id))
    except TunnelError as exc:
        return await dispatcher.record(dispatcher.failure(job, activation_id, exc.message,
                                                          invoker_id))
    why = await _keep_outputs(dispatcher, job, accepted, outcome, invoker_id)
    if why is not None:
        return await dispatcher.record(dispatcher.failure(job, activation_id, why, invoker_id))
    return await dispatcher.record(
        dispatcher.outcome_record(job, activation_id, spec, outcome, invoker_id))


async def _keep_outputs(dispatcher: Dispatcher, job: Job, accepted: Doc, outcome: RunOutcome,
                        invoker_id: str) -> str | None:
    """Register what an edge run taken back produced (``artifacts.keep_journaled``); else why
    not, the activation's error as for a run that was not taken back."""
    if not accepted.get("artifacts"):
        return None
    try:
        invoker = dispatcher.invokers.get(invoker_id)
    except KeyError:  # it delivered, then left the registry
        return InvokerLost(invoker_id, "it left before its outputs were registered").message
    try:
        await artifacts.keep_journaled(dispatcher.artifacts, accepted["artifacts"], outcome,
                                       job=job, activation_id=accepted["_id"], invoker=invoker)
    except ControllerError as exc:
        return exc.message
    return None


def _missing(doc: Mapping[str, Any]) -> Doc:
    """A stand-in for an action deleted or changed since (its record names it)."""
    return {"name": doc["name"], "version": doc["version"]}


def _body(doc: Mapping[str, Any]) -> act.AcceptedDoc:
    return {k: v for k, v in doc.items() if k not in ("_id", "_rev")}  # type: ignore[return-value]
