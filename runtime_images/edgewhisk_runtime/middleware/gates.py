"""Gate stage: every gate of the action gets a verdict on every successful activation.

Before the call it tells the action process what to observe (``activation.monitor``: the
consumed models drift gates watch, the bias measurements to make on produced models); after
it, it reaches each gate's verdict (``edgewhisk_runtime.artifacts.values.GateVerdict``) and
puts them on the activation, which the proxy returns in the ``X-Edgewhisk-Gates`` header: the
result itself stays what ``main`` returned. Where each value comes from:

- a **drift** gate on ``confidence``, ``psi`` or ``ks`` is *measured*: the summaries of the
  model's forward passes feed a sliding window per (model version, binding) kept here,
  and the value is the window's (``artifacts.monitor``); it fires only once the window holds
  ``window`` rows. A model ``main`` never ran as a Gluon block leaves the window empty: then
  the value is the one the run's result *reports* (``metrics.<metric>``, else ``<metric>``);
- a **bias** gate naming evaluation ``data`` is *measured* on the produced model
  (``artifacts.instrument.bias_groups``): the disparate-impact ratio of its positive rates;
- otherwise the value is *reported*: the produced artifact's metrics (``Output(metrics=...)``;
  a bias gate reads ``bias.<attribute>``), or for a drift gate the run's result.

A gate whose value cannot be obtained fails the activation with a ``GateError`` naming it
(never a silent pass); its verdict carries the ``error``. A validator gate whose target was
not produced this time has no verdict; an activation that failed gets none.

Why the windows live here: the proxy outlives its activations (a warm container serves many),
and its verdicts must not depend on the action keeping state. So a window covers one warm
container of one invoker; a new container starts empty, and the controller's edge-triggered
firing with a cooldown keeps that from firing twice.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from edgewhisk_runtime.activation import Activation, Handler, Result
from edgewhisk_runtime.artifacts import monitor
from edgewhisk_runtime.artifacts.values import GateVerdict
from edgewhisk_runtime.exceptions import GateError

MAX_WINDOWS = 1024
"""Windows one proxy keeps (the least recently used goes first)."""
MAX_REFERENCES = 256
"""Parsed training references one proxy keeps, by model version."""
WindowKey = tuple[str, tuple[tuple[str, str], ...], int]


def bias_requests(gates: list[Any]) -> list[dict[str, Any]]:
    """The bias measurements the action process makes for ``gates`` (``Gate``s)."""
    return [{"gate": g.index, "target": g.target, "data": g.data,
             "attribute": g.metric.removeprefix("bias."),
             "bins": list(g.bins) if g.bins else None}
            for g in gates if g.type == "bias" and g.measured]


def _failed(result: Result) -> bool:
    return result.status != 200 or (isinstance(result.body, dict) and "error" in result.body)


def _binding(activation: Activation, names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """The activation's values of the annotation's variables ``names`` (``usr``...)."""
    params = activation.value if isinstance(activation.value, dict) else {}
    return tuple((name, str(params[name])) for name in names if name in params)


def _reported(body: Any, metric: str) -> float | None:
    """A drift metric the run's result reports: ``metrics.<metric>``, else ``<metric>``."""
    from edgewhisk.gates import reported_value

    if not isinstance(body, dict):
        return None
    found = reported_value(body.get("metrics"), metric)
    return found if found is not None else reported_value(body, metric)


class GatesMiddleware:
    """The stage. Per proxy (one action) it keeps the windows, the parsed references by model
    version, and which versions' bin edges the action process has already been sent: they
    travel once, a reference being the largest thing a drift gate adds to a /run."""

    NAME = "gates"

    def __init__(self, max_windows: int = MAX_WINDOWS) -> None:
        self.windows: OrderedDict[WindowKey, monitor.Window] = OrderedDict()
        self.max_windows = max_windows
        self.references: OrderedDict[str, monitor.Reference | None] = OrderedDict()
        self.sent: set[str] = set()
        self._gates: tuple[Any, list[Any], dict[str, Any], tuple[str, ...]] | None = None

    def _of(self, annotation: Any) -> tuple[list[Any], dict[str, Any], tuple[str, ...]]:
        """The action's gates, its fixed monitor request and the variables of its binding,
        read once (the annotation is the same object on every /run of this proxy's action)."""
        if self._gates is None or self._gates[0] is not annotation:
            import edgewhisk
            from edgewhisk.gates import gates_of

            gates = gates_of(annotation)
            drift = sorted({g.target for g in gates if g.type == "drift" and g.measured})
            names = tuple(sorted(edgewhisk.variables(annotation or {})))
            self._gates = (annotation, gates, {"drift": drift, "bias": bias_requests(gates)},
                           names)
        return self._gates[1], self._gates[2], self._gates[3]

    def reference(self, key: str, raw: Any) -> monitor.Reference | None:
        """The parsed training reference of model version ``key`` (parsed once)."""
        if key not in self.references:
            self.references[key] = monitor.Reference.parse(raw)
            while len(self.references) > MAX_REFERENCES:
                self.references.popitem(last=False)
        return self.references[key]

    def _watch(self, targets: list[str], activation: Activation) -> dict[str, Any]:
        """Each watched model's version as the invoker staged it (its name in a runtime on
        its own), with its reference's bin edges the first time."""
        staged = (activation.staged or {}).get("consumes") or {}
        watched: dict[str, Any] = {}
        for name in targets:
            entry = staged.get(name) or {}
            key = str(entry.get("key") or name)
            watched[name] = {"key": key}
            if key not in self.sent:
                reference = self.reference(key, entry.get("reference"))
                watched[name]["edges"] = None if reference is None else list(reference.edges)
        return watched

    async def __call__(self, activation: Activation, call_next: Handler) -> Result:
        gates, request, names = self._of(activation.annotation)
        if not gates:
            return await call_next(activation)
        watched = self._watch(request["drift"], activation)
        activation.monitor = {"drift": watched, "bias": request["bias"]}
        result = await call_next(activation)
        if len(self.sent) > MAX_REFERENCES:
            self.sent.clear()  # the edges are sent again: harmless, and the set stays small
        self.sent.update(spec["key"] for spec in watched.values())  # the process has them
        if _failed(result):
            return result
        windows = self._fill(gates, activation, result.observed.get("drift") or {},
                             _binding(activation, names))
        judged = [(gate, v) for gate in gates if (v := self.judge(gate, activation, result,
                                                                 windows.get(gate.index)))]
        activation.verdicts = [verdict for _, verdict in judged]
        errors = [f"gate {gate.describe()}: {v.error}" for gate, v in judged if v.error]
        if errors:
            raise GateError("; ".join(errors))
        return result

    def _fill(self, gates: list[Any], activation: Activation, observed: Mapping[str, Any],
              binding: tuple[tuple[str, str], ...]) -> dict[int, monitor.Window]:
        """The window of each measured drift gate, with what its model saw this time added
        once: gates watching the same model version on the same binding over as many rows
        share one window."""
        keys = {c.get("name"): str(c.get("key") or c.get("ref")) for c in activation.consumes}
        windows: dict[int, monitor.Window] = {}
        filled: set[WindowKey] = set()
        seen = {name: monitor.Summary.parse(summary) for name, summary in observed.items()}
        for gate in gates:
            if gate.type != "drift" or not gate.measured:
                continue
            key = (keys.get(gate.target, gate.target), binding, gate.window)
            windows[gate.index] = window = self._window(key)
            summary = seen.get(gate.target)
            if summary is not None and key not in filled:
                window.add(summary)
                filled.add(key)
        return windows

    def judge(self, gate: Any, activation: Activation, result: Result,
              window: monitor.Window | None) -> GateVerdict | None:
        """``gate``'s verdict on this activation (None: a validator's target not produced);
        ``window``: a measured drift gate's, this activation's rows added."""
        if gate.type == "drift":
            return self._drift(gate, activation, result, window)
        body = result.body if isinstance(result.body, dict) else {}
        reference = body.get(gate.target)
        produced = reference.get("artifact") if isinstance(reference, dict) else None
        if not isinstance(produced, dict):
            return None
        if gate.measured:
            return self._measured_bias(gate, result)
        from edgewhisk.gates import reported_value

        value = reported_value(produced.get("metrics"), gate.metric)
        if value is None:
            return _error(gate, f"no value: the function reported no number {gate.metric!r} in "
                                f"the metrics of {gate.target!r} (Output(metrics=...))")
        return _verdict(gate, value, "reported")

    def _measured_bias(self, gate: Any, result: Result) -> GateVerdict:
        observed = (result.observed.get("bias") or {}).get(str(gate.index))
        if not isinstance(observed, Mapping) or "groups" not in observed:
            why = observed.get("error") if isinstance(observed, Mapping) else None
            return _error(gate, f"cannot be measured: {why or 'nothing was measured'}")
        groups = {str(k): (int(v[0]), int(v[1])) for k, v in observed["groups"].items()}
        try:
            value = monitor.disparate_impact(groups)
        except ValueError as exc:
            return _error(gate, f"cannot be measured: {exc}")
        rates = ", ".join(f"{k} {p / n:.2f}" for k, (p, n) in groups.items() if n)
        return _verdict(gate, value, "measured", detail=f"positive rate by group: {rates}")

    def _drift(self, gate: Any, activation: Activation, result: Result,
               window: monitor.Window | None) -> GateVerdict:
        entry = next((c for c in activation.consumes if c.get("name") == gate.target), {})
        reason = "the model was never run as an MXNet Gluon block"
        if window is not None:
            key = str(entry.get("key") or entry.get("ref"))
            if window.rows:
                scored = _score(gate.metric, window,
                                self.reference(key, entry.get("reference")))
                if isinstance(scored, str):
                    return _error(gate, scored, rows=window.rows)
                value, detail = scored
                return _verdict(gate, value, "measured", rows=window.rows, detail=detail,
                                armed=window.full)
        else:
            reason = f"{gate.metric!r} is not a metric the platform measures"
        reported = _reported(result.body, gate.metric)
        if reported is None:
            return _error(gate, f"no value: {reason}, and the result reports no number "
                                f"{gate.metric!r} (at the top or in 'metrics')")
        return _verdict(gate, reported, "reported")

    def _window(self, key: WindowKey) -> monitor.Window:
        window = self.windows.pop(key, None)
        if window is None:
            window = monitor.Window(key[2])
        self.windows[key] = window  # most recently used last
        while len(self.windows) > self.max_windows:
            self.windows.popitem(last=False)
        return window


def _score(metric: str, window: monitor.Window, reference: monitor.Reference | None
           ) -> tuple[float, str | None] | str:
    """(value, detail) of a measured drift metric, or why it cannot be measured."""
    if metric == "confidence":
        value = monitor.confidence(window)
        return (value, None) if value is not None else "no rows"
    if reference is None:
        return (f"cannot be measured: the model version has no training reference (it was not "
                f"produced from data the platform staged), so {metric} has nothing to compare")
    worst = (monitor.psi if metric == "psi" else monitor.ks)(window, reference)
    if worst is None:
        return (f"cannot be measured: the model's inputs do not match its training reference "
                f"({len(reference.features)} features)")
    return worst[0], f"feature {worst[1]}"


@functools.lru_cache(maxsize=256)
def _predicate(text: str) -> tuple[str, float]:
    from edgewhisk import parse_predicate

    return parse_predicate(text)


def _verdict(gate: Any, value: float, source: str, *, rows: int | None = None,
             detail: str | None = None, armed: bool = True) -> GateVerdict:
    from edgewhisk import predicate_holds

    fired = armed and predicate_holds(_predicate(gate.predicate), value)
    return GateVerdict(gate.index, gate.type, gate.target, gate.metric, gate.predicate,
                       round(value, 6), fired, source, rows=rows, detail=detail)


def _error(gate: Any, error: str, *, rows: int | None = None) -> GateVerdict:
    return GateVerdict(gate.index, gate.type, gate.target, gate.metric, gate.predicate, None,
                       False, "", rows=rows, error=error)
