"""Placing a fan-out's bindings together: one cluster pass, then a few rows per binding.

Why: an unbound ``{usr}`` becomes one binding per user (10,000 users), and the bindings differ
only where the annotation named the user -- typically a hard ``NodeSelector`` on
``{usr}_device``. Placing them one by one builds one cache entry each; here the constraints
they share are built once (candidates, bounded static scores, the dynamic part: the entry
cache's ``build`` and ``sync``), and each binding only looks up its own rows (``Indexed.rows``:
member indexes) among the shared candidates and normalises the min-max scores over them.

The result is the one ``Engine.place`` gives for each binding (same candidates, same
normalisation, same tie rule: lowest row). Fallbacks to ``place``: bindings whose constraint
lists differ in shape or in something other than a static hard filter with ``rows``; and,
with ``commit``, a binding that may land on a row an earlier binding of this call was just
placed on (its dynamic scores changed).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from .cache import EntryCache
from .constraints import Bound, Constraint
from .entry import Entry
from .interface import Decision, PlacementEngine, PlacementRequest, Unschedulable
from .plugin import Context, Indexed, normalise
from .state import Rows, Vector, View

TOGETHER_MIN = 16
"""Fewer bindings than this are simply placed one by one."""


class Parts(PlacementEngine, Protocol):
    """What placing together needs of the engine besides the contract: its entry cache,
    the full constraint list of a binding, and the unschedulable explanation."""

    @property
    def cache(self) -> EntryCache: ...

    def constraints_for(self, request: PlacementRequest,
                        bound: Bound) -> tuple[Constraint, ...]: ...

    def explain(self, constraints: Sequence[Constraint], action: str) -> Unschedulable: ...


def place_together(engine: Parts, request: PlacementRequest, bounds: Sequence[Bound],
                   commit: bool) -> list[Decision] | None:
    """Decisions for ``bounds`` in order, or None when they do not share enough."""
    if len(bounds) < TOGETHER_MIN:
        return None
    cache = engine.cache
    lists = [engine.constraints_for(request, bound) for bound in bounds]
    first = lists[0]
    if any(len(k) != len(first) for k in lists):
        return None
    differing = [i for i, k in enumerate(first)
                 if any(other[i] is not k and other[i] != k for other in lists)]
    for i in differing:
        plugin = cache.plugins[first[i].plugin]
        if not (first[i].hard and not plugin.dynamic and isinstance(plugin, Indexed)):
            return None
    if not differing:
        return None
    shared = tuple(k for i, k in enumerate(first) if i not in differing)
    entry = cache.build(shared, request.key, minmax_apart=True)
    total = cache.sync(entry)
    state, full = cache.state, View(cache.state)
    candidates = np.zeros(state.n, np.bool_)  # static candidates of the shared constraints
    if entry.rows is None:
        candidates[:] = entry.static > -np.inf
    else:
        candidates[entry.rows] = True
    changed: set[int] = set()
    decisions: list[Decision] = []
    for bound, constraints in zip(bounds, lists, strict=True):
        rows = _own_rows(cache, full, [constraints[i] for i in differing])
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


def _own_rows(cache: EntryCache, full: View, own: list[Constraint]) -> Rows | None:
    """Rows passing every binding-specific hard filter, from member indexes."""
    rows: Rows | None = None
    for k in own:
        plugin = cache.plugins[k.plugin]
        assert isinstance(plugin, Indexed)
        found = plugin.rows(Context(full, k.args, ""))
        if found is None:
            return None
        rows = found if rows is None else np.intersect1d(rows, found, assume_unique=True)
    return rows


def _best(engine: Parts, entry: Entry, total: Vector, rows: Rows,
          constraints: tuple[Constraint, ...], action: str) -> Decision:
    """The best of ``rows`` (the binding's candidates), min-max scores normalised over them."""
    if len(rows):
        at = rows if entry.rows is None else np.searchsorted(entry.rows, rows)
        values = total[at].astype(np.float64)
        for raw, weight in entry.minmax:
            values += weight * normalise(raw[rows], len(rows), None)
        best = int(np.argmax(values))
        if values[best] != -np.inf:
            id = engine.cache.state.ids[int(rows[best])]
            assert id is not None
            return id
    return engine.explain(constraints, action)
