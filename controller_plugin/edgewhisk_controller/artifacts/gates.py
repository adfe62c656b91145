"""What the controller does with gate verdicts: versions held back, triggers fired, strict gates
refusing.

The runtime's gate stage judges every gate of an activation (``GateVerdict``s in the run's
outcome, from a local invoker or through the tunnel alike). Here each verdict gets the
registry version it is about (from the controller's own plan, never a device's word), and
the controller acts:

- ``judge``: the verdicts matched to the action's gates. A gate that should have one and has
  none (a runtime that does not evaluate gates: a blackbox image, an old agent) is an error
  naming the gate, so the activation fails rather than passing its gates silently;
- a **validator** gate (bias, metric) that fired holds its produced version back: the version
  is registered ``gated`` with its verdicts (``registry``; selectors, "the latest" and
  preloads skip it, ``name@version`` still finds it), and the gate fires its trigger, once
  per version (every version is new);
- a **drift** gate is edge-triggered with a cooldown per (gate, target version, binding): a
  document in ``gate_states`` says whether it holds and when it last fired, so a window that
  stays past the threshold fires once, a restarted controller does not fire again, and a quiet
  verdict re-arms it. A ``strict`` drift gate, once fired, holds until a new version of its
  target arrives (a new version is a new state): ``holding`` tells the dispatcher to refuse;
- **firing** is ``Engine.fire`` with the stored trigger, the same code as ``POST
  .../triggers/NAME`` (``dispatch/triggers.py``): a trigger that does not exist or has no
  active rule fires nothing, as there.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from edgewhisk.gates import Gate, trigger_name

from ..schema import stored
from ..stores import Doc, Store, update
from ..stores.interface import get_or_none
from . import selectors

if TYPE_CHECKING:
    from edgewhisk_runtime.artifacts import GateVerdict

    from .registry import ArtifactRegistry

GATE_STATES = "gate_states"
TRIGGERS = "triggers"
CACHED_STATES = 10_000
"""Gate states kept in memory (the least recently used go; the store keeps them all)."""


class Engine(Protocol):
    """What firing needs of the dispatcher: ``Dispatcher.fire``, as ``POST .../triggers``."""

    async def fire(self, ns: str, trigger: Doc, params: dict[str, Any], *, subject: str,
                   api_key: str | None = None) -> str | None: ...


@dataclass(frozen=True)
class Firing:
    """The activation whose verdicts are settled: where the trigger fires and what it says."""

    ns: str
    action: str
    activation_id: str
    binding: Mapping[str, str]
    invoker: str | None
    subject: str
    api_key: str | None = None

    def state_id(self, gate: Gate, version: str) -> str:
        """One gate state per (action's gate, target version, binding)."""
        bound = ",".join(f"{k}={v}" for k, v in sorted(self.binding.items()))
        return f"{self.ns}/{self.action}#{gate.index}/{version}?{bound}"


@dataclass(frozen=True)
class Judged:
    """One gate on one activation: its verdict (None: none came back) and the registry key of
    the version it targets; ``error`` when the verdict is missing or names another gate."""

    gate: Gate
    version: str | None
    verdict: GateVerdict | None
    error: str | None = None

    def entry(self) -> dict[str, Any]:
        """The verdict as the activation record's ``gates`` annotation and the version's
        ``gates`` show it."""
        v, gate = self.verdict, self.gate
        entry: dict[str, Any] = {"gate": gate.index, "type": gate.type, "target": gate.target,
                                 "version": self.version, "metric": gate.metric,
                                 "value": v.value if v else None, "predicate": gate.predicate,
                                 "fired": bool(v and v.fired),
                                 "source": v.source if v else None}
        for extra in ("rows", "detail"):
            if v is not None and getattr(v, extra) is not None:
                entry[extra] = getattr(v, extra)
        error = self.error or (v.error if v else None)
        if error:
            entry["error"] = error
        if gate.validator and self.acts and entry["fired"]:
            entry["held"] = True  # the version is registered gated
        return entry

    @property
    def acts(self) -> bool:
        """Whether the verdict is one to act on: it came back, without an error."""
        return self.verdict is not None and self.error is None and self.verdict.error is None


def _matches(gate: Gate, verdict: GateVerdict) -> bool:
    return (verdict.type, verdict.target, verdict.metric, verdict.predicate) == (
        gate.type, gate.target, gate.metric, gate.predicate)


def judge(gates: Sequence[Gate], verdicts: Iterable[GateVerdict], targets: Mapping[str, str],
          *, produced: Iterable[str], ran: bool, invoker: str | None) -> list[Judged]:
    """Each gate with its verdict. When the run succeeded a drift gate must have one, and a
    validator gate whose target was ``produced``; a verdict naming another gate than its
    index says is not taken."""
    by_index = {v.gate: v for v in verdicts}
    made = set(produced)
    judged = []
    for gate in gates:
        verdict = by_index.get(gate.index)
        wrong = verdict is not None and not _matches(gate, verdict)
        if wrong:
            verdict = None
        expected = ran and (gate.type == "drift" or gate.target in made)
        if verdict is None and not expected and not wrong:
            continue
        error = None
        if verdict is None:
            error = (f"invoker {invoker} returned a verdict for gate {gate.index} that does not "
                     "match the action's gate" if wrong else
                     f"no verdict came back from invoker {invoker}: its runtime does not "
                     "evaluate gates")
        judged.append(Judged(gate, targets.get(gate.target), verdict, error))
    return judged


def missing(judged: Iterable[Judged]) -> str | None:
    """The error of an activation whose gates could not all be judged, naming them."""
    errors = [f"gate {j.gate.describe()}: {j.error}" for j in judged if j.error]
    return "; ".join(errors) or None


def held_back(judged: Iterable[Judged]) -> dict[str, list[dict[str, Any]]]:
    """The produced names a firing validator gate holds back, with every verdict on each."""
    held = {j.gate.target for j in judged if j.gate.validator and j.acts and j.verdict
            and j.verdict.fired}
    return {name: [j.entry() for j in judged if j.gate.target == name] for name in held}


def verdicts_of(judged: Iterable[Judged]) -> dict[str, list[dict[str, Any]]]:
    """Every produced target's verdicts, by name (the version document keeps them)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for j in judged:
        if j.gate.validator:
            out.setdefault(j.gate.target, []).append(j.entry())
    return out


def payload(firing: Firing, judged: Judged, trigger: str) -> dict[str, Any]:
    """What the trigger is fired with: the binding's variables at the top (so a rule's action,
    e.g. a per-user retrain, binds them as any invoke does), then what fired and where."""
    v = judged.verdict
    assert v is not None
    extra = {k: getattr(v, k) for k in ("rows", "detail") if getattr(v, k) is not None}
    return {**firing.binding, "gate": judged.gate.type, "metric": v.metric, "value": v.value,
            "predicate": v.predicate, "source": v.source,
            "action": f"/{firing.ns}/{firing.action}", "activationId": firing.activation_id,
            "target": judged.version, "binding": dict(firing.binding),
            "invoker": firing.invoker, "trigger": trigger, **extra}


class GateKeeper:
    """The gate states in ``store`` (collection ``gate_states``), firing, and the version
    verdicts in ``registry`` (None: no registry, so validators hold nothing back)."""

    def __init__(self, store: Store, registry: ArtifactRegistry | None) -> None:
        self.store, self.registry = store, registry
        self._states: OrderedDict[str, Doc] = OrderedDict()

    async def _state(self, key: str) -> Doc:
        cached = self._states.get(key)
        if cached is None:
            cached = await get_or_none(self.store, GATE_STATES, key) or {"holding": False}
            self._remember(key, cached)
        return cached

    def changed(self, doc: Doc) -> None:
        """A gate state written (or deleted) by any controller on the store, from the changes
        feed (``cluster/``): a cached copy follows, unless it is the newer revision."""
        key = str(doc.get("_id"))
        held = self._states.get(key)
        if held is None:
            return
        if doc.get("_deleted"):
            del self._states[key]
        elif selectors.generation(doc) >= selectors.generation(held):
            self._states[key] = doc

    def _remember(self, key: str, doc: Doc) -> None:
        self._states[key] = doc
        self._states.move_to_end(key)
        while len(self._states) > CACHED_STATES:
            self._states.popitem(last=False)

    async def holding(self, firing: Firing, gates: Iterable[Gate],
                      targets: Mapping[str, str]) -> tuple[Gate, Doc] | None:
        """The first strict drift gate that holds for its target version on this binding,
        with its state (``verdict``: the entry of the firing); None: run."""
        for gate in gates:
            version = targets.get(gate.target)
            if gate.type != "drift" or not gate.strict or version is None:
                continue
            state = await self._state(firing.state_id(gate, version))
            if state.get("holding"):
                return gate, state
        return None

    async def settle(self, engine: Engine, firing: Firing,
                     judged: Sequence[Judged]) -> list[dict[str, Any]]:
        """Act on each verdict; the record's ``gates`` annotation (with what fired)."""
        entries = []
        for j in judged:
            entry = j.entry()
            if j.acts and j.version is not None:
                await self._act(engine, firing, j, entry)
            entries.append(entry)
        return entries

    async def _act(self, engine: Engine, firing: Firing, j: Judged, entry: dict[str, Any]) -> None:
        assert j.verdict is not None and j.version is not None
        if j.gate.validator:
            if j.verdict.fired:
                entry["trigger"] = await self._fire(engine, firing, j)
            return
        fire, holding = await self._edge(firing, j, entry)
        if fire:
            entry["trigger"] = await self._fire(engine, firing, j)
            if self.registry is not None:
                await self.registry.add_verdicts(j.version, [entry])
        if holding and j.gate.strict:
            entry["held"] = True

    async def _edge(self, firing: Firing, j: Judged, entry: dict[str, Any]) -> tuple[bool, bool]:
        """(fire now, holds now): a rising edge fires unless the gate fired within its
        cooldown; a quiet verdict re-arms a gate that is not strict."""
        assert j.verdict is not None and j.version is not None
        key, fired, gate = firing.state_id(j.gate, j.version), j.verdict.fired, j.gate
        if not fired and not (await self._state(key)).get("holding"):
            return False, False  # quiet, and nothing to re-arm: no write
        now = int(time.time() * 1000)

        def change(doc: Doc) -> Doc:
            doc.pop("firing", None)
            if fired and not doc.get("holding"):
                doc["holding"] = True
                last = doc.get("fired_at")
                if last is None or now - int(last) >= gate.cooldown_s * 1000:
                    doc.update(fired_at=now, firing=firing.activation_id, verdict=entry)
            elif not fired and not gate.strict:
                doc["holding"] = False
            return doc

        doc = await update(self.store, GATE_STATES, key, change, default={
            "namespace": firing.ns, "action": firing.action, "gate": gate.index,
            "version": j.version, "binding": dict(firing.binding)})
        self._remember(key, doc)
        return doc.get("firing") == firing.activation_id, bool(doc.get("holding"))

    async def _fire(self, engine: Engine, firing: Firing, j: Judged) -> dict[str, Any]:
        """Fire the gate's trigger; ``{"name", "activationId"}`` (None: nothing fired)."""
        name = trigger_name(firing.action, j.gate)
        trigger = await get_or_none(self.store, TRIGGERS, stored.path(firing.ns, name))
        activation_id = None
        if trigger is not None:
            activation_id = await engine.fire(firing.ns, trigger, payload(firing, j, name),
                                              subject=firing.subject, api_key=firing.api_key)
        return {"name": name, "activationId": activation_id}
