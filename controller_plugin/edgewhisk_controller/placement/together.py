"""Placing a fan-out's bindings together: one cluster pass, then a few rows per binding.

Why: an unbound ``{usr}`` becomes one binding per user (10,000 users), and the bindings differ
only where the annotation named the user -- typically a hard ``NodeSelector`` on
``{usr}_device``. Placing them one by one builds one cache entry each; here the constraints
they share are built once (candidates, bounded static scores, the dynamic part), and each
binding only looks up its own rows (``Plugin.rows``: member indexes) among the shared
candidates and normalises the min-max scores over them.

The result is the one ``Engine.place`` gives for each binding (same candidates, same
normalisation, same tie rule: lowest row). Fallbacks to ``place``: bindings whose constraint
lists differ in shape or in something other than a static hard filter with ``rows``; and,
with ``commit``, a binding that may land on a row an earlier binding of this call was just
placed on (its dynamic scores changed).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .constraints import Constraint
from .interface import Decision, PlacementRequest
from .plugin import Context, Plugin, normalise
from .state import View

if TYPE_CHECKING:
    from .entry import Bound, Entry
    from .framework import Engine

TOGETHER_MIN = 16
"""Fewer bindings than this are simply placed one by one."""


def place_together(engine: Engine, request: PlacementRequest, bounds: Sequence[Bound],
                   commit: bool) -> list[Decision] | None:
    """Decisions for ``bounds`` in order, or None when they do not share enough."""
    if len(bounds) < TOGETHER_MIN:
        return None
    lists = [engine.constraints_for(request, bound) for bound in bounds]
    first = lists[0]
    if any(len(k) != len(first) for k in lists):
        return None
    differing = [i for i, k in enumerate(first)
                 if any(other[i] is not k and other[i] != k for other in lists)]
    for i in differing:
        plugin = engine.plugins[first[i].plugin]
        if not (first[i].hard and not plugin.dynamic and plugin.has_filter
                and type(plugin).rows is not Plugin.rows):
            return None
    if not differing:
        return None
    shared = tuple(k for i, k in enumerate(first) if i not in differing)
    entry = engine._build(shared, request.key, minmax_apart=True)
    total = engine._sync(entry)
    state, full = engine.state, View(engine.state)
    candidates = np.zeros(state.n, np.bool_)  # static candidates of the shared constraints
    if entry.rows is None:
        candidates[:] = entry.static > -np.inf
    else:
        candidates[entry.rows] = True
    changed: set[int] = set()
    decisions: list[Decision] = []
    for bound, constraints in zip(bounds, lists, strict=True):
        rows = _own_rows(engine, full, [constraints[i] for i in differing])
        if rows is None or (commit and changed.intersection(rows.tolist())):
            decision = engine.place(request, bound)
        else:
            decision = _best(engine, entry, total, rows[candidates[rows]], constraints,
                             request.key)
        if commit and isinstance(decision, str):
            engine.placed(decision, request.memory_mb, request.key)
            changed.add(state.index[decision])
        decisions.append(decision)
    return decisions


def _own_rows(engine: Engine, full: View, own: list[Constraint]) -> np.ndarray | None:
    """Rows passing every binding-specific hard filter, from member indexes."""
    rows: np.ndarray | None = None
    for k in own:
        found = engine.plugins[k.plugin].rows(Context(full, k.args, ""))
        if found is None:
            return None
        rows = found if rows is None else np.intersect1d(rows, found, assume_unique=True)
    return rows


def _best(engine: Engine, entry: Entry, total: np.ndarray, rows: np.ndarray,
          constraints: tuple[Constraint, ...], action: str) -> Decision:
    """The best of ``rows`` (the binding's candidates), min-max scores normalised over them."""
    if len(rows):
        at = rows if entry.rows is None else np.searchsorted(entry.rows, rows)
        values = total[at].astype(np.float64)
        for raw, weight in entry.minmax:
            values += weight * normalise(raw[rows], len(rows), None)
        best = int(np.argmax(values))
        if values[best] != -np.inf:
            id = engine.state.ids[int(rows[best])]
            assert id is not None
            return id
    return engine.explain(constraints, action)
