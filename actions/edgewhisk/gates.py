"""Gates: their entries in the annotation, and what the platform reads from them.

A gate says when an artifact's metric makes it **fire** (``predicate``) and what firing does.
Three types: ``bias`` and ``metric`` are *validator* gates on an artifact the function produces
(a firing one holds that version back); ``drift`` watches a model the function consumes, over a
sliding window of its serving inputs and outputs. A fourth, ``data``, is no verdict of a run:
it watches a data artifact the function consumes grow (``new_items='>=100'``: new versions, or
the ``items`` each reports in its metadata, since the last firing for that binding) and the
controller fires its trigger (``<action>.data``) when it has grown enough (``data_gates_of``).
This module is the one place that validates
a gate entry (``validate_gate``, called by ``schema.validate``), checks it against the
function's artifacts (``check_gate_artifacts``) and says what every field means with its
default (``Gate``, ``gates_of``): the runtime's gate stage and the controller both read gates
through ``gates_of``, so a default is written once, here.

Where a gate's value comes from (``Gate.measured``): the platform measures a drift gate's
``confidence``, ``psi`` and ``ks`` (from the instrumented model) and a bias gate's ratio when
it names evaluation ``data``; any other value is the one the function reported (``reported``).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .checks import PLAIN_NAME, at, expect, strict, string, typed
from .exceptions import AnnotationError
from .terms import parse_duration, parse_predicate

GATE_KEYS = {"bias": ("type", "attribute", "predicate", "target", "data", "bins", "trigger"),
             "drift": ("type", "metric", "predicate", "target", "window", "cooldown", "strict",
                       "fallback", "trigger"),
             "metric": ("type", "metric", "predicate", "target", "trigger"),
             "data": ("type", "ref", "new_items", "trigger")}
VALIDATORS = ("bias", "metric")
MEASURED_DRIFT = ("confidence", "psi", "ks")
"""Drift metrics the instrumented model measures (any other is read from the run's result)."""
WINDOW_ROWS = 100
"""A drift gate's sliding window, in rows of model input, when ``window`` is not given."""
COOLDOWN = "10m"
"""How long after a drift gate fired it stays silent, when ``cooldown`` is not given."""
REFERENCE_KEY = "training_reference"
"""The metadata key of a produced model's training reference (feature histograms of the data
it was produced from): the runtime writes it, the registry keeps it, drift gates read it."""
MAX_WINDOW = 100_000
MAX_BINS = 32
ENTITY = r"[A-Za-z0-9_][A-Za-z0-9_.@-]{0,255}"
"""A trigger's or action's name: pattern text, ASCII only (the JSON Schema states it too)."""
_ENTITY = re.compile(ENTITY)


def validate_gate(entry: Any, path: str) -> dict[str, Any]:
    """Validate and normalise one gate (its ``target`` and ``data`` are checked against the
    function's artifacts once the whole annotation is known: ``check_gate_artifacts``)."""
    kind = typed(entry, path, GATE_KEYS, "gate types")
    if kind == "data":
        return _data_gate(entry, path)
    subject = "attribute" if kind == "bias" else "metric"
    for field in (subject, "predicate"):
        if field not in entry:
            raise AnnotationError(f"{path}.{field}", "missing")
    out = {"type": kind, subject: string(entry[subject], f"{path}.{subject}", PLAIN_NAME)}
    out["predicate"] = string(entry["predicate"], f"{path}.predicate")
    with at(f"{path}.predicate"):
        parse_predicate(out["predicate"])
    if entry.get("target") is not None:
        out["target"] = string(entry["target"], f"{path}.target")
    if kind == "bias":
        _bias_options(entry, path, out)
    elif kind == "drift":
        _drift_options(entry, path, out)
    if entry.get("trigger") is not None:
        out["trigger"] = string(entry["trigger"], f"{path}.trigger", _ENTITY, "a trigger name")
    return out


GROWTH_OPERATORS = (">=", ">")


def _data_gate(entry: Mapping[str, Any], path: str) -> dict[str, Any]:
    """``{"type": "data", "ref": "{usr}/glucose", "new_items": ">=100"}``."""
    for field in ("ref", "new_items"):
        if field not in entry:
            raise AnnotationError(f"{path}.{field}", "missing")
    out = {"type": "data", "ref": string(entry["ref"], f"{path}.ref")}
    new_items = string(entry["new_items"], f"{path}.new_items")
    with at(f"{path}.new_items"):
        op, count = parse_predicate(new_items)
    if op not in GROWTH_OPERATORS or count < 0 or count != int(count):
        raise AnnotationError(f"{path}.new_items", f"{new_items!r} must be '>=N' or '>N' with "
                                                   "a whole number N, e.g. '>=100'")
    out["new_items"] = new_items.strip()
    if entry.get("trigger") is not None:
        out["trigger"] = string(entry["trigger"], f"{path}.trigger", _ENTITY, "a trigger name")
    return out


def _bias_options(entry: Mapping[str, Any], path: str, out: dict[str, Any]) -> None:
    if entry.get("data") is not None:
        out["data"] = string(entry["data"], f"{path}.data")
    if entry.get("bins") is not None:
        bins = entry["bins"]
        expect(bins, list, f"{path}.bins", "a list of numbers")
        if not 1 <= len(bins) <= MAX_BINS:
            raise AnnotationError(f"{path}.bins", f"give 1 to {MAX_BINS} group boundaries")
        for i, edge in enumerate(bins):
            expect(edge, (int, float), f"{path}.bins[{i}]", "a number")
            if not math.isfinite(edge):
                raise AnnotationError(f"{path}.bins[{i}]", "must be a finite number")
        if any(a >= b for a, b in itertools.pairwise(bins)):
            raise AnnotationError(f"{path}.bins", "must be strictly ascending, e.g. [40, 60]")
        if "data" not in out:
            raise AnnotationError(f"{path}.bins", "groups the measured evaluation data: give "
                                                  "data='<consumed data artifact>' too")
        out["bins"] = list(bins)


def _drift_options(entry: Mapping[str, Any], path: str, out: dict[str, Any]) -> None:
    if entry.get("window") is not None:
        window = entry["window"]
        expect(window, int, f"{path}.window", "a number of rows")
        if not 1 <= window <= MAX_WINDOW:
            raise AnnotationError(f"{path}.window", f"must be 1 to {MAX_WINDOW} rows")
        out["window"] = window
    if entry.get("cooldown") is not None:
        out["cooldown"] = entry["cooldown"]
        with at(f"{path}.cooldown"):
            parse_duration(entry["cooldown"])
    if strict(entry, path):
        out["strict"] = True
    if entry.get("fallback") is not None:
        if not out.get("strict"):
            raise AnnotationError(f"{path}.fallback", "routes the activations a strict gate "
                                                      "refuses: give strict=True too")
        out["fallback"] = string(entry["fallback"], f"{path}.fallback", _ENTITY,
                                  "an action name")


def check_gate_artifacts(doc: Mapping[str, Any], gate: dict[str, Any], path: str) -> None:
    """A drift gate targets a consumed model (default: the one consumed model); a validator
    gate (bias, metric) a produced artifact (default: the one produced model); a bias gate's
    ``data`` is a consumed data artifact, and measuring bias needs a model target; a data
    gate's ``ref`` is the ref of a consumed data artifact."""
    if gate["type"] == "data":
        refs = [a["ref"] for a in doc["consumes"] if a["kind"] == "data" and "ref" in a]
        if gate["ref"] not in refs:
            raise AnnotationError(f"{path}.ref", f"{gate['ref']!r} is the ref of no consumed "
                                  f"data artifact; consumed: {', '.join(refs) or 'none'}")
        return
    drift = gate["type"] == "drift"
    section, wanted = ("consumes", "a consumed model") if drift else ("produces", "a produced "
                                                                                  "artifact")
    candidates = {a["name"]: a for a in doc[section] if not drift or a["kind"] == "model"}
    if "target" not in gate:
        models = [a["name"] for a in doc[section] if a["kind"] == "model"]
        if len(models) != 1:
            what = "consumed" if drift else "produced"
            raise AnnotationError(
                f"{path}.target",
                f"missing, and it defaults only when exactly one model is {what} "
                f"(here {len(models)}); give target='<artifact name>'")
        gate["target"] = models[0]
    if gate["target"] not in candidates:
        known = [a["name"] for s in ("consumes", "produces") for a in doc[s]]
        raise AnnotationError(
            f"{path}.target",
            f"{gate['target']!r} names no artifact this gate can target ({wanted}); known: "
            f"{', '.join(known) or 'none'}")
    if "data" in gate:
        data = [a["name"] for a in doc["consumes"] if a["kind"] == "data"]
        if gate["data"] not in data:
            raise AnnotationError(f"{path}.data", f"{gate['data']!r} names no consumed data "
                                  f"artifact; consumed: {', '.join(data) or 'none'}")
        if candidates[gate["target"]]["kind"] != "model":
            raise AnnotationError(f"{path}.data", "bias is measured on a produced model; "
                                                  f"{gate['target']!r} is data")


@dataclass(frozen=True)
class Gate:
    """One gate of a (validated) annotation with every default applied.

    ``index``: its position in ``gates`` (verdicts name it); ``metric``: what is compared
    (``bias.<attribute>`` for a bias gate, as the function reports it in ``metrics``);
    ``cooldown_s``: for drift gates; ``trigger``: the name given, else None (the controller
    names it ``<action>.<type>``, ``trigger_name``)."""

    index: int
    type: str
    metric: str
    predicate: str
    target: str
    data: str | None = None
    bins: tuple[float, ...] | None = None
    window: int = WINDOW_ROWS
    cooldown_s: float = 0.0
    strict: bool = False
    fallback: str | None = None
    trigger: str | None = None

    @property
    def validator(self) -> bool:
        """A gate on a produced artifact (bias, metric), not on a consumed model (drift)."""
        return self.type in VALIDATORS

    @property
    def measured(self) -> bool:
        """Whether the platform measures this gate's value (else the function reports it)."""
        if self.type == "drift":
            return self.metric in MEASURED_DRIFT
        return self.type == "bias" and self.data is not None

    def describe(self) -> str:
        """How messages name the gate: ``bias(age<0.8) on glucose-model``."""
        subject = self.metric.removeprefix("bias.")
        return f"{self.type}({subject}{self.predicate}) on {self.target}"


def gates_of(annotation: Mapping[str, Any] | None) -> list[Gate]:
    """The gates of a validated, normalised annotation (every target filled in)."""
    found = []
    for index, entry in enumerate((annotation or {}).get("gates") or []):
        kind = entry["type"]
        if kind == "data":
            continue  # no verdict of a run: data_gates_of
        metric = f"bias.{entry['attribute']}" if kind == "bias" else entry["metric"]
        bins = entry.get("bins")
        found.append(Gate(
            index=index, type=kind, metric=metric, predicate=entry["predicate"],
            target=entry["target"], data=entry.get("data"),
            bins=tuple(float(b) for b in bins) if bins else None,
            window=int(entry.get("window", WINDOW_ROWS)),
            cooldown_s=parse_duration(entry.get("cooldown", COOLDOWN)) if kind == "drift"
            else 0.0,
            strict=bool(entry.get("strict", False)), fallback=entry.get("fallback"),
            trigger=entry.get("trigger")))
    return found


@dataclass(frozen=True)
class DataGate:
    """A ``data`` gate: fire when the consumed data ``ref`` grew by ``new_items`` (``op``,
    ``count``) since the last firing for a binding; ``index``: its position in ``gates``."""

    index: int
    ref: str
    op: str
    count: float
    trigger: str | None = None
    type: str = "data"


def data_gates_of(annotation: Mapping[str, Any] | None) -> list[DataGate]:
    """The data gates of a validated, normalised annotation."""
    found = []
    for index, entry in enumerate((annotation or {}).get("gates") or []):
        if entry["type"] == "data":
            op, count = parse_predicate(entry["new_items"])
            found.append(DataGate(index, entry["ref"], op, count, entry.get("trigger")))
    return found


def trigger_name(action: str, gate: Gate | DataGate) -> str:
    """The trigger a firing fires: the gate's ``trigger``, else ``<action>.<type>``."""
    return gate.trigger or f"{action}.{gate.type}"


def reported_value(values: Mapping[str, Any] | None, metric: str) -> float | None:
    """``values[metric]``, following dots into nested objects (``bias.age``); None unless it
    is a number (a boolean is not)."""
    value: Any = values or {}
    for part in metric.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)

