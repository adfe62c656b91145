"""A brute-force placement reference: every invoker scored on its own, one at a time.

It uses the engine's plugins (the same objects, so the same code) on one-row views, and the
framework's documented rules written out plainly: an invoker is feasible when it passes every
hard constraint; bounded scores map linearly to 0-100, unbounded ones min-max over the
invokers passing every *static* hard filter (all 0 when they tie); the total is the weighted
sum; the best total wins and ties go to the lowest row. When nothing is feasible, each
invoker is counted under the first hard constraint it fails.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from edgewhisk_controller.placement import Engine, PlacementRequest
from edgewhisk_controller.placement.constraints import Bound, Constraint
from edgewhisk_controller.placement.plugin import Context, Filter, Plugin, Score, Sparse, prepared
from edgewhisk_controller.placement.state import View


@dataclass
class Outcome:
    best: int | None  # row
    scores: dict[int, float] = field(default_factory=dict)  # feasible row -> total
    excluded: dict[str, int] = field(default_factory=dict)


def _ctx(engine: Engine, plugin: Plugin[Any], k: Constraint, row: int, action: str
         ) -> Context[Any]:
    view = View(engine.state, np.array([row], np.intp))
    return prepared(plugin, Context(view, k.args, action))


def _raw(engine: Engine, plugin: Score[Any], k: Constraint, row: int, action: str) -> float:
    result = plugin.score(_ctx(engine, plugin, k, row, action))
    if isinstance(result, Sparse):
        assert plugin.BOUNDS is not None
        return result.value if len(result.positions) else plugin.BOUNDS[0]
    return float(result[0])


def reference(engine: Engine, request: PlacementRequest, bound: Bound) -> Outcome:
    state = engine.state
    constraints: Sequence[Constraint] = engine.constraints_for(request, bound)
    action = request.key
    rows = [r for r in range(state.n) if state.cols["present"][r]]
    hard = [(p, k) for k in constraints
            if k.hard and isinstance(p := engine.plugins[k.plugin], Filter)]
    soft = [(p, k) for k in constraints
            if not k.hard and isinstance(p := engine.plugins[k.plugin], Score)]
    first_failure: dict[int, str] = {}
    static_ok: dict[int, bool] = {}
    for r in rows:
        static_ok[r] = True
        for plugin, k in hard:
            ok = bool(plugin.filter(_ctx(engine, plugin, k, r, action))[0])
            if not ok:
                first_failure.setdefault(r, plugin.explain(k.args))
                if not plugin.dynamic:
                    static_ok[r] = False
    feasible = [r for r in rows if r not in first_failure]
    totals = {r: 0.0 for r in feasible}
    for plugin, k in soft:
        raw = {r: _raw(engine, plugin, k, r, action) for r in rows}
        if plugin.BOUNDS is not None:
            lo, hi = plugin.BOUNDS
        else:
            pool = [raw[r] for r in rows if static_ok[r]]
            lo, hi = (min(pool), max(pool)) if pool else (0.0, 0.0)
        for r in feasible:
            norm = 0.0 if hi <= lo else (raw[r] - lo) * 100.0 / (hi - lo)
            totals[r] += k.weight * norm
    best = None
    for r in feasible:  # ascending rows: a later row must be strictly better
        if best is None or totals[r] > totals[best]:
            best = r
    excluded: dict[str, int] = {}
    if best is None:
        for phrase in first_failure.values():
            excluded[phrase] = excluded.get(phrase, 0) + 1
    return Outcome(best, totals, excluded)
