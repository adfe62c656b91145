"""The dispatcher's gate steps around one activation (``artifacts/gates.py`` decides them).

    plan -> refusal? (a strict gate holds) -> place -> run -> judge -> keep -> settle

Why a module of its own: the dispatcher stays about running activations; for gates it makes
these calls, and only for actions whose annotation has gates (the others pass straight
through). ``refusal`` answers an activation a strict drift gate refuses (a whisk error naming
the gate) or routes to the gate's ``fallback`` action; ``judge`` matches the runtime's
verdicts to the gates and turns an activation whose gates could not all be judged into a
failure naming them (its produced versions are then not registered); ``settle`` acts on the
verdicts (versions held back, edge-triggered firing through ``Dispatcher.fire``) and gives the
record its ``gates`` annotation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from edgewhisk import variables
from edgewhisk.gates import Gate, gates_of

from ..artifacts import gates as gating
from ..exceptions import Forbidden, NotFound
from ..schema import activation as act
from ..schema import stored
from .job import Engine, Job

if TYPE_CHECKING:
    from edgewhisk_runtime.containers import RunOutcome
    from edgewhisk_tunnel import Produce

    from ..artifacts.plan import ArtifactPlan
    from ..preprocess import BoundAction

ANNOTATION = "gates"


class Dispatcher(Engine, gating.Engine, Protocol):
    """What the gate steps need of the dispatcher: start and load actions (a fallback), fire
    triggers, and its ``GateKeeper``."""

    gates: gating.GateKeeper


def gates(action: dict[str, Any]) -> list[Gate]:
    """The action's gates, every default applied (none for an unreadable annotation)."""
    annotation = stored.annotation(action, "edgewhisk")
    return gates_of(annotation) if isinstance(annotation, dict) else []


def firing(job: Job, activation_id: str, bound: BoundAction, invoker: str | None
           ) -> gating.Firing:
    """The activation as its gates see it; ``binding``: the values of the annotation's
    variables (``usr``...), not what else the bound action is keyed by."""
    annotation = stored.annotation(job.action, "edgewhisk")
    names = variables(annotation) if isinstance(annotation, dict) else set()
    binding = {k: v for k, v in bound.values.items() if k in names}
    return gating.Firing(job.ns, str(job.action.get("name", "")), activation_id, binding,
                         invoker, job.subject, job.api_key)


@dataclass(frozen=True)
class Refusal:
    """What a held strict gate makes of an activation: its ``response`` (a whisk error, or the
    fallback's), where that ran, and the ``gates`` annotation."""

    response: act.Response
    invoker: str | None
    entries: list[dict[str, Any]]


def refused_message(gate: Gate, job: Job, version: str, state: dict[str, Any]) -> str:
    since = datetime.fromtimestamp(int(state.get("fired_at", 0)) / 1000, UTC)
    binding = ", ".join(f"{k}={v}" for k, v in sorted((state.get("binding") or {}).items()))
    name = version.partition("/")[2].rpartition("@")[0]
    return (f"The gate {gate.describe()} of action {job.action.get('name')} holds for "
            f"{version}{f' ({binding})' if binding else ''} since "
            f"{since.isoformat(timespec='seconds')}: activations are refused until a new "
            f"version of {name} arrives.")


async def refusal(dispatcher: Dispatcher, job: Job, activation_id: str, planned: ArtifactPlan,
                  bound: BoundAction) -> Refusal | None:
    """None, unless a strict drift gate holds for this activation's model version and
    binding: then the refusal, or the answer of the gate's fallback action."""
    strict = [g for g in gates(job.action) if g.type == "drift" and g.strict]
    if not strict:
        return None
    targets = planned.targets(())
    found = await dispatcher.gates.holding(firing(job, activation_id, bound, None), strict,
                                           targets)
    if found is None:
        return None
    gate, state = found
    version = targets[gate.target]
    entry = {**(state.get("verdict") or {}), "held": True, "refused": True}
    if gate.fallback is None:
        return Refusal(act.whisk_error(refused_message(gate, job, version, state)), None, [entry])
    return await _route(dispatcher, job, activation_id, gate, entry)


async def _route(dispatcher: Dispatcher, job: Job, activation_id: str, gate: Gate,
                 entry: dict[str, Any]) -> Refusal:
    """Run the gate's fallback action with this activation's parameters; its answer."""
    assert gate.fallback is not None
    try:
        fallback = await dispatcher.resolve(job.ns, f"/{job.ns}/{gate.fallback}")
    except (NotFound, Forbidden):
        return Refusal(act.whisk_error(
            f"The gate {gate.describe()} of action {job.action.get('name')} holds and routes "
            f"to its fallback action {gate.fallback}, which does not exist."), None, [entry])
    child = Job(job.ns, fallback.action, job.payload, job.subject, job.received_ms,
                job.api_key, cause=activation_id, binding=fallback.binding)
    child_id, task = dispatcher.start(child)
    record = await task
    entry["fallback"] = {"action": f"/{job.ns}/{gate.fallback}", "activationId": child_id}
    response = record["response"]
    invoker = next((a["value"] for a in record["annotations"] if a["key"] == "invoker"), None)
    return Refusal(act.Response(response["statusCode"], response["result"]), invoker, [entry])


def judge(job: Job, planned: ArtifactPlan, produces: Sequence[Produce], outcome: RunOutcome,
          invoker: str) -> list[gating.Judged]:
    """The run's verdicts matched to the action's gates; when one is missing the outcome
    becomes a failure naming the gates (a developer error: nothing it produced is kept)."""
    action_gates = gates(job.action)
    if not action_gates:
        return []
    body = outcome.response
    ran = outcome.status == 200 and not (isinstance(body, dict) and "error" in body)
    judged = gating.judge(action_gates, outcome.gates, planned.targets(produces),
                          produced=[p.name for p in outcome.produced], ran=ran, invoker=invoker)
    error = gating.missing(judged)
    if error is not None and ran:
        outcome.status, outcome.response, outcome.produced = 502, {"error": error}, ()
    return judged


async def settle(dispatcher: Dispatcher, job: Job, activation_id: str, bound: BoundAction,
                 invoker: str, judged: Sequence[gating.Judged]) -> list[dict[str, Any]] | None:
    """Act on the verdicts; the ``gates`` annotation (None for an action without gates)."""
    if not gates(job.action):
        return None
    return await dispatcher.gates.settle(dispatcher, firing(job, activation_id, bound, invoker),
                                         judged)


def annotate(record: act.ActivationRecord, action: dict[str, Any],
             entries: list[dict[str, Any]] | None = None) -> act.ActivationRecord:
    """Every activation of an action with gates carries a ``gates`` annotation (empty when
    none was judged: it failed before, or was refused)."""
    present = any(a["key"] == ANNOTATION for a in record["annotations"])
    if entries is not None:
        record["annotations"] = [a for a in record["annotations"] if a["key"] != ANNOTATION]
        record["annotations"].append({"key": ANNOTATION, "value": entries})
    elif not present and gates(action):
        record["annotations"].append({"key": ANNOTATION, "value": []})
    return record
