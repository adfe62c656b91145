"""The flow's steps read back from the controller: one :class:`FlowStep` per component
activation, from its record (``invoker``; ``placement``: the engine's reasons, when the
controller records them; ``gates``: the verdicts) and the registry (what a produced version was
made from, its ``lineage``).

Why read back: the flow is one invoke, and its map's branches are compositions of their own that
the flow's record does not list; every step is an activation of one of the four actions since
the flow started, which is what :func:`flow_steps` lists.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from edgewhisk_client import Activation, Client

from .steps import ACTIONS, gates_of


@dataclass(frozen=True)
class FlowStep:
    """One component activation of the flow: where and when it ran, why there, what it
    consumed and produced (registry names), its gate verdicts. ``user``: the user it ran for
    (its result's ``usr``), or the sweep's trial (``trial``), else ``-``."""

    action: str
    user: str
    activation: str
    invoker: str
    why: str
    start_ms: int
    end_ms: int
    cold: bool
    consumed: tuple[str, ...]
    produced: tuple[str, ...]
    gates: list[dict[str, Any]]
    error: str = ""


def flow_steps(client: Client, since_ms: int, registry: Iterable[Mapping[str, Any]],
               actions: Iterable[str] = ACTIONS) -> list[FlowStep]:
    """Every activation of ``actions`` (the personal assistant's four) since ``since_ms``,
    oldest first (the flow's conductor runs and branch compositions left out)."""
    docs = {_key(d): d for d in registry}
    steps = []
    for name in actions:
        for brief in client.activations.list(name=name, since=since_ms, limit=50):
            steps.append(_step(client.activations.get(brief["activationId"]), docs))
    return sorted(steps, key=lambda s: s.start_ms)


def _key(doc: Mapping[str, Any]) -> str:
    return f"{doc.get('namespace')}/{doc['name']}@{doc['version']}"


def _step(record: dict[str, Any], docs: Mapping[str, Mapping[str, Any]]) -> FlowStep:
    found = Activation(record, 200, 0.0)
    result = found.result if isinstance(found.result, dict) else {}
    produced = [v["artifact"] for v in result.values()
                if isinstance(v, dict) and isinstance(v.get("artifact"), dict)]
    consumed: list[str] = []
    for ref in produced:
        lineage = (docs.get(ref["key"]) or {}).get("lineage") or {}
        consumed += [lineage["model"]] if lineage.get("model") else []
        consumed += list(lineage.get("data") or [])
    gates = gates_of(record)
    if not produced:  # a server: what its gates judged is the model it served
        consumed += sorted({str(g["version"]) for g in gates if g.get("version")})
    return FlowStep(
        str(record["name"]), str(result.get("usr") or result.get("trial") or "-"), found.id,
        str(found.annotation("invoker") or "-"), why(found.annotation("placement")),
        int(record["start"]), int(record["end"]), found.annotation("initTime") is not None,
        tuple(dict.fromkeys(_short(k) for k in consumed)),
        tuple(_short(r["key"]) + ("(gated)" if r.get("status") == "gated" else "")
              for r in produced),
        gates, "" if found.success else str(result.get("error", "failed")))


def why(placement: Any) -> str:
    """The decisive reason of a ``placement`` annotation (the engine's explanation), short
    enough for a column: with one candidate left, the hard constraints that left out the
    others (``node cloud (1 of 3)``, from "not matching node cloud"); else the soft term that
    decided between the candidates (``CachedArtifact (2 of 3)``); ``-`` without one (a
    controller that records no explanation)."""
    if not isinstance(placement, dict):
        return "-"
    fit = f"{placement.get('candidates')} of {placement.get('of')}"
    excluded = placement.get("excluded") or {}
    terms = placement.get("terms") or []
    if placement.get("candidates") == 1 and excluded:
        decisive = ", ".join(reason.removeprefix("not matching ") for reason in excluded)
    else:
        decisive = str(terms[0].get("plugin")) if terms else "a tie"
    return f"{decisive} ({fit})"


def _short(key: str) -> str:
    """``guest/u1/glucose@1`` -> ``u1/glucose@1`` (the registry's name and version)."""
    return key.partition("/")[2] or key
