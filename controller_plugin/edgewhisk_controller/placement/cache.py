"""The per-action entry cache: what a placement key's decisions reuse, kept in step with events.

Static part, cached per (action version, binding, namespace, kind, memory, site) as an
``Entry``: the AND of the static hard filters ("candidates"), and the sum over static soft
constraints of weight x normalised score (0-100; min-max plugins normalise over the
candidates). When the candidates are few the entry keeps just their rows, so a selective hard
constraint makes every later placement cheaper. Registration and unregistration rebuild the
entries; a heartbeat changing one invoker's static attributes patches that row of each entry
when it is next used (``get``), without a pass over the cluster. The plugins' static results
(``pieces``) are shared between entries of one cluster version.

Dynamic part: the dynamic constraints (Health, BalancedLoad, WarmContainer,
DeadlineFeasibility ...) are the entry's ``steps``. The entry keeps ``total`` = static + every
step, and ``sync`` catches it up on the rows that events changed since it was last used: each
such row is re-scored with the plugins' per-row forms (O(1)); after many events, or when
something every row reads changed (``Shared.depends``: an observed run time), it is
recomputed in numpy.

Public so that a fan-out (``together.py``) builds and syncs its shared entry the same way:
``get`` / ``add`` (an entry by key), ``build`` (an entry by itself), ``sync``.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np

from .constraints import Constraint
from .entry import Entry, Span, Step
from .plugin import (
    Context,
    Filter,
    Indexed,
    Plugin,
    Prepared,
    Score,
    Shared,
    Sparse,
    add_score,
    normalise,
    prepared,
    raw_value,
    row_filter_of,
    row_score_of,
)
from .state import ClusterState, Mask, Rows, Vector, View

NEG_INF = np.float32(-np.inf)
_NEG_INF = float("-inf")
SPARSE_FRACTION = 0.25
"""An entry whose candidates are under this share of the rows keeps only their rows."""
ROW_UPDATES = 32
"""Up to this many logged row changes are caught up on row by row, else recomputed."""
PIECES = 512
"""Static plugin results (and ANDs of hard filters) kept per cluster version, LRU."""
CACHE_BYTES = 64 * 1024 * 1024
"""Budget of the cached static vectors; the oldest entries go first when it is exceeded."""


class EntryCache:
    """Entries by placement key, over one ``ClusterState`` and one set of plugin objects."""

    def __init__(self, state: ClusterState, plugins: Mapping[str, Plugin[Any]]) -> None:
        self.state = state
        self.plugins = plugins
        self.entries: dict[Hashable, Entry] = {}
        self._bytes = 0
        self._pieces: dict[Hashable, Vector] = {}  # static raw results, this version
        self._pieces_version = (-1, -1)

    # -- entries by key ---------------------------------------------------------------------

    def get(self, key: Hashable) -> Entry | None:
        """The entry of ``key`` if it still follows the cluster (patched row by row when an
        invoker's static attributes changed); None: it must be built (``add``)."""
        entry = self.entries.get(key)
        state = self.state
        if entry is not None and entry.version == state.static_version and (
                entry.restated == state.restated.seq or self._patch(entry)):
            return entry
        return None

    def add(self, key: Hashable, constraints: tuple[Constraint, ...], action: str) -> Entry:
        """Build the entry of ``key`` (replacing a stale one); the oldest entries go when the
        cache is over its byte budget."""
        stale = self.entries.pop(key, None)
        if stale is not None:
            self._bytes -= stale.nbytes
        entry = self.entries[key] = self.build(constraints, action)
        self._bytes += entry.nbytes
        while self._bytes > CACHE_BYTES and len(self.entries) > 1:
            oldest = next(iter(self.entries))
            self._bytes -= self.entries.pop(oldest).nbytes
        return entry

    # -- the dynamic part: an entry's totals kept in sync -----------------------------------

    def sync(self, entry: Entry) -> Vector:
        """``entry.total`` brought up to date with the events since the entry was last used:
        the rows they changed re-scored one by one, or everything when there were many or
        something every row reads changed (``Shared.depends``)."""
        state = self.state
        seq = state.changed.seq
        moved = entry.shared != state.shared_version and self._depends_moved(entry)
        if seq != entry.seen or moved:
            rows = state.changed.since(entry.seen)
            if moved or rows is None or len(rows) > ROW_UPDATES:
                self._recompute(entry)
            else:
                for row in set(rows):
                    self._update_row(entry, row)
            entry.seen = seq
        return entry.total

    def _depends_moved(self, entry: Entry) -> bool:
        """Whether a step's ``depends`` differs from what ``total`` reflects."""
        entry.shared = self.state.shared_version
        return _depends(entry.watch) != entry.depends

    def _recompute(self, entry: Entry) -> None:
        """Every row's total, in numpy: static, -inf where a dynamic filter fails, plus
        each dynamic score weighted; and the steps' per-row functions made afresh."""
        total = entry.total
        np.copyto(total, entry.static)
        for step in entry.steps:
            plugin, ctx = step.plugin, step.ctx
            if step.hard:
                assert isinstance(plugin, Filter)
                total[~plugin.filter(ctx)] = NEG_INF
                step.row = row_filter_of(plugin, ctx)
            else:
                assert isinstance(plugin, Score)
                add_score(plugin.score(ctx), total, step.lo, step.scale)
                step.row = row_score_of(plugin, ctx)
        entry.shared = self.state.shared_version
        entry.depends = _depends(entry.watch)

    def _update_row(self, entry: Entry, row: int) -> None:
        """One row's total from its static value and each step's per-row form."""
        at = _position(entry, row)
        if at < 0:
            return
        value = entry.static.item(at)
        if value != _NEG_INF:
            for step in entry.steps:
                if step.hard:
                    if not step.row(row, at):
                        value = _NEG_INF
                        break
                else:
                    value += (step.row(row, at) - step.lo) * step.scale
        entry.total[at] = value

    # -- static changes of single rows ------------------------------------------------------

    def _patch(self, entry: Entry) -> bool:
        """Catch the entry up on invokers whose static attributes changed, row by row.
        False: it must be rebuilt (too many rows, a new candidate outside its kept rows, or
        a min-max range that moved)."""
        rows = self.state.restated.since(entry.restated)
        if rows is None or len(rows) > ROW_UPDATES:
            return False
        for row in set(rows):
            if not self._patch_row(entry, row):
                return False
            self._update_row(entry, row)
        entry.restated = self.state.restated.seq
        return True

    def _patch_row(self, entry: Entry, row: int) -> bool:
        """Re-evaluate the entry's static constraints (and the cached ``prepare`` of its
        steps) for one row, on a one-row view; see ``_patch`` for False."""
        state, action = self.state, entry.action
        one = View(state, np.array([row], np.intp))
        ok = bool(state.cols["present"].item(row)) and all(
            bool(p.filter(Context(one, k.args, action))[0]) for p, k in entry.filters)
        at = _position(entry, row)
        if at < 0:
            return not ok
        value = 0.0
        for plugin, k in entry.scores:
            raw = raw_value(plugin.score(Context(one, k.args, action)), plugin.BOUNDS)
            lo, hi = plugin.BOUNDS or (0.0, 1.0)
            value += k.weight * (raw - lo) * (100.0 / (hi - lo))
        for step in entry.steps:
            if isinstance(step.ctx.prepared, np.ndarray):
                assert isinstance(step.plugin, Prepared)
                fresh = step.plugin.prepare(Context(one, step.ctx.args, action))
                step.ctx.prepared[at] = np.asarray(fresh)[0]
        entry.static[at] = value if ok else _NEG_INF
        for span in entry.spans:
            span.raw[at] = raw_value(span.plugin.score(Context(one, span.constraint.args, action)),
                                     None)
            lo, hi = _range(span.raw, entry.static > NEG_INF)
            if (lo, hi) != (span.lo, span.hi) and (hi > lo or span.hi > span.lo):
                return False  # every share moved (a range that was and is flat gives all 0)
            span.lo, span.hi = lo, hi
            if ok and hi > lo:
                value += span.constraint.weight * (span.raw[at] - lo) * (100.0 / (hi - lo))
        entry.static[at] = value if ok else _NEG_INF
        return True

    # -- the static part: entries built -----------------------------------------------------

    def build(self, constraints: tuple[Constraint, ...], action: str,
              minmax_apart: bool = False) -> Entry:
        """The cached part of a placement: candidates, the weighted static score, the
        dynamic steps; ``total`` is computed on first use (``sync``).

        ``minmax_apart``: leave min-max normalised scores out of ``static`` and list their
        raw pieces in ``Entry.minmax`` (a fan-out normalises them per binding)."""
        state = self.state
        version = (state.static_version, state.restated.seq)
        if self._pieces_version != version:
            self._pieces.clear()
            self._pieces_version = version
        full = View(state)
        used = [(self.plugins[k.plugin], k) for k in constraints]
        hard = [(p, k) for p, k in used if k.hard and not p.dynamic and isinstance(p, Filter)]
        seeded = self._seed(hard, full)
        if seeded is not None:  # few candidates: never a pass over the whole cluster
            rows = seeded
            candidates = np.zeros(state.n, np.bool_)
            candidates[rows] = True
        else:
            candidates = self._and(hard, full)
            rows = np.flatnonzero(candidates)
        sparse = len(rows) < SPARSE_FRACTION * state.n
        size = len(rows) if sparse else state.n
        total = np.zeros(size)
        view = View(state, rows) if sparse else full
        entry = Entry(state.static_version, rows if sparse else None, total, [], constraints,
                      action, total, restated=state.restated.seq, filters=hard,
                      row_list=array("q", rows.tolist()) if sparse else None)
        for plugin, k in used:
            if plugin.dynamic:
                _add_step(entry, plugin, k, view)
            elif not k.hard and isinstance(plugin, Score):
                raw = self._piece(plugin, k, full)
                if minmax_apart and plugin.BOUNDS is None:
                    entry.minmax.append((raw, k.weight))
                    continue
                mine = raw[rows] if sparse else raw
                pool = None if sparse else candidates  # sparse: the rows are the candidates
                total += k.weight * normalise(mine, size, plugin.BOUNDS, pool)
                if plugin.BOUNDS is not None:
                    entry.scores.append((plugin, k))
                elif not minmax_apart:
                    lo, hi = _range(mine, pool)
                    entry.spans.append(Span(plugin, k, np.array(mine, np.float64), lo, hi))
        if not sparse:
            total[~candidates] = -np.inf
        entry.static = total.astype(np.float32)
        entry.total = entry.static.copy()
        entry.steps.sort(key=lambda step: not step.hard)  # a failed filter ends a row early
        entry.watch = [s for s in entry.steps if isinstance(s.plugin, Shared)]
        return entry

    def _seed(self, hard: list[tuple[Filter[Any], Constraint]], full: View) -> Rows | None:
        """The candidates' rows when a hard filter's member index names only a few: they are
        then checked against the (cached, shared) AND of the other hard filters. None: take
        the dense path."""
        best: tuple[Rows, int] | None = None
        for i, (plugin, k) in enumerate(hard):
            if not isinstance(plugin, Indexed):
                continue
            rows = plugin.rows(Context(full, k.args, ""))
            if rows is not None and (best is None or len(rows) < len(best[0])):
                best = (rows, i)
        if best is None or len(best[0]) >= SPARSE_FRACTION * self.state.n:
            return None
        rows, seed = best
        seeded: Rows = rows[self._and([h for i, h in enumerate(hard) if i != seed], full)[rows]]
        return seeded

    def _and(self, hard: list[tuple[Filter[Any], Constraint]], full: View) -> Mask:
        """present AND every filter of ``hard``; each prefix is cached and shared."""
        candidates: Mask = full.col("present")
        prefix: tuple[Hashable, ...] = ("and",)
        for plugin, k in hard:
            prefix += (("filter", k.args),)
            found = self._cached(prefix)
            if found is None:
                found = self._store(prefix, candidates & self._piece(plugin, k, full))
            candidates = found
        return candidates

    def _piece(self, plugin: Filter[Any] | Score[Any], k: Constraint, view: View) -> Vector:
        """A static plugin's raw filter mask (a hard ``k``) or score over all rows, shared
        across entries."""
        key = ("filter" if k.hard else "score", k.args)
        piece = self._cached(key)
        if piece is None:
            ctx = Context(view, k.args, "")
            result: Vector | Sparse
            if k.hard:
                assert isinstance(plugin, Filter)
                result = plugin.filter(ctx)
            else:
                assert isinstance(plugin, Score)
                result = plugin.score(ctx)
            if isinstance(result, Sparse):
                assert isinstance(plugin, Score) and plugin.BOUNDS is not None
                dense = np.full(view.size, plugin.BOUNDS[0])
                dense[result.positions] = result.value
                result = dense
            piece = self._store(key, np.asarray(result))
        return piece

    def _cached(self, key: Hashable) -> Vector | None:
        """A piece of this static version, kept as most recently used."""
        piece = self._pieces.pop(key, None)
        if piece is not None:
            self._pieces[key] = piece
        return piece

    def _store(self, key: Hashable, piece: Vector) -> Vector:
        self._pieces[key] = piece
        if len(self._pieces) > PIECES:
            self._pieces.pop(next(iter(self._pieces)))  # the least recently used
        return piece


def _add_step(entry: Entry, plugin: Plugin[Any], k: Constraint, view: View) -> None:
    """A dynamic constraint as a step of ``entry`` (a score weighing 0 adds nothing)."""
    if k.hard and not isinstance(plugin, Filter) or not k.hard and not isinstance(plugin, Score):
        return
    lo, hi = 0.0, 1.0
    if isinstance(plugin, Score) and not k.hard:
        assert plugin.BOUNDS is not None, f"{plugin.NAME}: dynamic needs BOUNDS"
        lo, hi = plugin.BOUNDS
        if k.weight == 0:
            return
    ctx = prepared(plugin, Context(view, k.args, entry.action))
    entry.steps.append(Step(plugin, ctx, k.hard, k.weight, lo, k.weight * 100.0 / (hi - lo)))


def _depends(watch: list[Step]) -> tuple[Hashable, ...]:
    return tuple(s.plugin.depends(s.ctx) for s in watch if isinstance(s.plugin, Shared))


def _position(entry: Entry, row: int) -> int:
    """Where state ``row`` is among the entry's rows; -1: not kept."""
    rows = entry.row_list
    if rows is None:
        return row if row < len(entry.static) else -1
    at = bisect_left(rows, row)  # a third of numpy's searchsorted for one value
    return at if at < len(rows) and rows[at] == row else -1


def _range(raw: Vector, candidates: Mask | None) -> tuple[float, float]:
    """The (min, max) a min-max score is normalised with: over the candidates; (0, 0) when
    there are none (``normalise`` then gives 0)."""
    pool = raw if candidates is None else raw[candidates]
    if pool.size == 0:
        return 0.0, 0.0
    return float(pool.min()), float(pool.max())
