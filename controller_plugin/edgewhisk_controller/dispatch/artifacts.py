"""The dispatcher's artifact steps around one activation (``artifacts.plan``/``produce``).

    plan  -> place -> check  -> allocate -> invoker.run(consumes, produces) -> keep

Why a module of its own: the dispatcher stays about running activations; everything it does
for artifacts is these four calls, and each refusal is a ``ControllerError`` whose message the
activation records (nothing runs, nothing is allocated before the checks passed).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from edgewhisk_tunnel import Produce

from ..artifacts import gates, produce
from ..artifacts import locality as rules
from ..artifacts import plan as planning
from ..artifacts.plan import ArtifactPlan
from ..placement import constraints as c
from ..placement.interface import PlacementEngine
from ..placement.plugins.artifact_locality import keys
from ..schema import stored

if TYPE_CHECKING:
    from edgewhisk_runtime.containers import RunOutcome

    from ..artifacts import ArtifactRegistry
    from ..artifacts.gates import Judged
    from ..invokers.interface import Invoker
    from ..preprocess import BoundAction
    from .job import Job

NONE = ArtifactPlan()


def produces_of(action: dict[str, Any]) -> list[dict[str, Any]]:
    """The stored (already normalised) annotation's ``produces`` entries."""
    annotation = stored.annotation(action, "edgewhisk")
    return list(annotation.get("produces") or []) if isinstance(annotation, dict) else []


async def plan(registry: ArtifactRegistry | None, job: Job, bound: BoundAction,
               engine: PlacementEngine) -> ArtifactPlan:
    """Resolve the job's consumes and bind its produces (``NONE`` without a registry or
    artifacts); tell the placement engine the consumed sizes."""
    produces = produces_of(job.action)
    if registry is None or not (bound.artifacts or produces):
        return NONE
    found = await planning.resolve(registry, job.ns, bound.artifacts, produces, bound.values)
    planning.feed_sizes(engine, found)
    return found


def rekeyed(bound: BoundAction, found: ArtifactPlan) -> BoundAction:
    """``bound`` with each model chosen by selector keyed by the registry name it resolved to,
    and each consumed version the registry says is ``local`` a hard constraint.

    The compiler keys such a model by the consume's name (``base``): it cannot know which
    model a selector will pick. Devices report what they hold by registry name
    (``glucose-base``), so without this CachedArtifact and ArtifactLocality would never see a
    device's copy. Nor can it know the locality of what an annotation consumes without
    saying it (``@consumes.data("{usr}/glucose")``): the producer's annotation decided it.
    A ``local`` version runs only where it is (``locality.check_placement``), so placement
    must choose among its holders; as a score only, a warm container elsewhere could
    outweigh it, and the activation was refused after placement. The resolved names and the
    local ones join the binding, so the engine caches these constraints apart."""
    names: dict[str, str] = {need.key: doc["name"] for need, doc in found.consumed
                             if need.ref is None and doc["name"] != need.key}
    local = tuple(sorted({doc["name"] for _, doc in found.consumed
                          if doc["locality"] == rules.LOCAL} - _held_already(bound, names)))
    if not names and not local:
        return bound

    def key(artifact: c.Artifact) -> c.Artifact:
        if isinstance(artifact, str):
            return names.get(artifact, artifact)
        return (names.get(artifact[0], artifact[0]), artifact[1])

    constraints = tuple(
        dataclasses.replace(k, args=dataclasses.replace(k.args, artifacts=tuple(
            key(a) for a in k.args.artifacts)))
        if isinstance(k.args, c.KEYED_BY_ARTIFACT) else k
        for k in bound.constraints)
    if local:
        constraints += (c.Constraint(c.ArtifactLocalityArgs(local), hard=True),)
    binding = tuple(sorted((*bound.binding, *((f"@{n}", r) for n, r in names.items()),
                            *((f"!{name}", rules.LOCAL) for name in local))))
    return dataclasses.replace(bound, constraints=constraints, binding=binding)


def _held_already(bound: BoundAction, names: Mapping[str, str]) -> set[str]:
    """The artifacts a hard ArtifactLocality of ``bound`` requires (after ``names``)."""
    return {names.get(a, a) for k in bound.hard if isinstance(k.args, c.ArtifactLocalityArgs)
            for a in keys(k.args.artifacts)}


def data_networks(bound: BoundAction) -> list[Sequence[str]]:
    """The bound networks of each strict ``policy.data``."""
    return [c.as_names(k.args.networks) for k in bound.constraints
            if isinstance(k.args, c.NetworkMembershipArgs) and k.hard]


def check(found: ArtifactPlan, invoker: Invoker, bound: BoundAction) -> None:
    """``locality.check_placement`` for the chosen invoker (``LocalityRefused`` naming the
    rule)."""
    if found.consumed:
        rules.check_placement(found.docs, invoker.state(), data_networks=data_networks(bound))


async def allocate(registry: ArtifactRegistry | None, job: Job,
                   found: ArtifactPlan) -> tuple[Produce, ...]:
    if registry is None or not found.outputs:
        return ()
    return await planning.allocate(registry, job.ns, found)


async def keep(registry: ArtifactRegistry | None, found: ArtifactPlan, produces: Sequence[Produce],
               outcome: RunOutcome, *, job: Job, activation_id: str, invoker: Invoker,
               judged: Sequence[Judged] = ()) -> None:
    """Register what the invoker kept of ``produces`` (with its gates' verdicts, ``gated``
    when one held it back) and put references into the result."""
    await _register(registry, produces, found.lineage(), outcome, job=job,
                    activation_id=activation_id, invoker=invoker, judged=judged)


def journaled(found: ArtifactPlan, produces: Sequence[Produce]) -> dict[str, Any] | None:
    """What ``keep_journaled`` needs after a controller crash, stored with the accepted
    activation when it is handed to an edge invoker (``journal.placed``): the versions
    allocated for its outputs and the lineage. None when it produces nothing."""
    if not produces:
        return None
    return {"produces": [dataclasses.asdict(p) for p in produces], "lineage": found.lineage()}


async def keep_journaled(registry: ArtifactRegistry | None, stored: Mapping[str, Any] | None,
                         outcome: RunOutcome, *, job: Job, activation_id: str,
                         invoker: Invoker, judged: Sequence[Judged] = ()) -> None:
    """``keep`` for an edge run taken back by start-up recovery, from what ``journaled``
    stored (the plan itself died with the previous controller)."""
    if stored:
        await _register(registry, journaled_produces(stored), stored["lineage"], outcome,
                        job=job, activation_id=activation_id, invoker=invoker, judged=judged)


def journaled_produces(stored: Mapping[str, Any] | None) -> tuple[Produce, ...]:
    """The outputs ``journaled`` stored (none: ``()``)."""
    return tuple(Produce(**p) for p in stored["produces"]) if stored else ()


async def _register(registry: ArtifactRegistry | None, produces: Sequence[Produce],
                    lineage: Mapping[str, Any], outcome: RunOutcome, *, job: Job,
                    activation_id: str, invoker: Invoker,
                    judged: Sequence[Judged] = ()) -> None:
    if registry is None or not produces or not outcome.produced:
        return
    docs = await produce.register(
        registry, outcome.produced, produces, activation_id=activation_id,
        lineage=lineage, owner=invoker.state().owner or job.subject, invoker=invoker.id,
        verdicts=gates.verdicts_of(judged), held=gates.held_back(judged))
    outcome.response = produce.rewrite(outcome.response, docs)
