"""The Engine: runs the plugins over the cluster state and picks one invoker.

How a placement is decided (``place``):

1. The constraints are the bound action's (the preprocessor's ``BoundAction``, or a plain
   sequence of ``Constraint``), preceded by the request's ``always`` ones (Health,
   NamespaceAccess, RuntimeKind, ResourcesFit hard; BalancedLoad, WarmContainer, Proximity
   soft) for each plugin the bound action does not already use (``constraints_for``).
2. Static part, cached per (action version, binding, namespace, kind, memory, site) as an
   ``Entry``: the AND of the static hard filters ("candidates"), and the sum over static soft
   constraints of weight x normalised score (0-100; min-max plugins normalise over the
   candidates). When the candidates are few the entry keeps just their rows, so a selective
   hard constraint makes every later placement cheaper. Registration and unregistration
   rebuild the entries; a heartbeat changing one invoker's static attributes patches that
   row of each entry when it is next used (``_patch``), without a pass over the cluster.
3. Dynamic part: the dynamic constraints (Health, BalancedLoad, WarmContainer,
   DeadlineFeasibility ...) are the entry's ``steps``. The entry keeps ``total`` = static +
   every step, and before each decision catches up on the rows that events changed since it
   was last used (``_sync``): each such row is re-scored with the plugins' per-row forms
   (``row_filter``/``row_score``, O(1)); after many events, or when something every row
   reads changed (``Plugin.depends``: an observed run time), it is recomputed in numpy.
   Dynamic scores have fixed BOUNDS, so no min/max over the cluster.
4. The best total wins (filtered-out rows are -inf): one ``argmax``.

Tie rule: among equal best totals the lowest state row wins (``numpy.argmax`` takes the
first) -- registration order, with the rows of unregistered invokers reused lowest first.

Weights: a soft constraint weighs ``constraint.weight`` (the preprocessor writes the
configured weight into it); the ``always`` constraints the engine adds weigh
``config.weight(plugin)``. Nothing found: an ``Unschedulable`` counting each invoker under
the first hard constraint (in constraint order) that excludes it.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from . import constraints as c
from .config import PlacementConfig
from .constraints import Constraint
from .entry import Bound, Entry, Span, Step
from .interface import Decision, InvokerState, PlacementRequest, Unschedulable
from .plugin import Context, Plugin, Sparse, normalise, raw_value
from .registry import PLUGINS
from .state import OPEN_NAMESPACE, ClusterState, View
from .together import place_together

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
RUN_STEP = 0.1
"""Placement follows an action's run-time average only when it moved this share away: a new
run time moves every row's deadline estimate (a full recompute of the entries using it),
so it must not change with every completion; the estimate is no finer than that anyway."""
RTT_ALPHA = 0.2
"""Weight of the newest tunnel round trip in its running average (``observe_rtt``)."""
RTT_STEP = 0.2
"""Proximity follows the running average only when it moved this share (or 1 ms) away: a
changed round trip is a static change (each entry patches a row), not one per heartbeat."""
RTT_RESOLUTION_MS = 5.0
"""Measured round trips are used in steps of this size (rounded up): jitter below it is noise,
not distance."""


def _resolved(rtt_ms: float) -> float:
    """``rtt_ms`` rounded up to ``RTT_RESOLUTION_MS``: Proximity is min-max normalised, so
    without it 0.4 ms against 1.1 ms of loopback or LAN jitter would score 100 against 0 and
    outvote every other plugin; invokers within one step of each other tie on proximity."""
    return float(np.ceil(rtt_ms / RTT_RESOLUTION_MS) * RTT_RESOLUTION_MS) or RTT_RESOLUTION_MS


class Engine:
    """Placement over a ``ClusterState`` kept in sync by the registry and the dispatcher."""

    def __init__(self, config: PlacementConfig | None = None,
                 plugins: Mapping[str, type[Plugin]] = PLUGINS) -> None:
        self.config = config or PlacementConfig()
        self.plugins = {name: cls(self.config) for name, cls in plugins.items()}
        self.state = ClusterState()
        self._entries: dict[Hashable, Entry] = {}
        self._entry_bytes = 0
        self._pieces: dict[Hashable, np.ndarray] = {}  # static raw results, this version
        self._pieces_version = (-1, -1)

    # -- incremental state ------------------------------------------------------------------

    def register(self, state: InvokerState) -> None:
        self.state.add(state)

    def unregister(self, id: str) -> None:
        self.state.remove(id)

    def heartbeat(self, id: str, **changes: Any) -> None:
        """Apply what an invoker reports (health, free memory, networks, cached, warm...).

        ``warm`` (an iterable of action keys) replaces the invoker's warm containers. An id
        that is not registered (any more) is ignored: reports race with unregistration.
        """
        if id not in self.state.index:
            return
        warm = changes.pop("warm", None)
        if changes:
            self.state.update(id, **changes)
        if warm is not None:
            row, keep = self.state.index[id], set(warm)
            for action in set(self.state.warm) | keep:
                self.state.set_warm(row, action, action in keep)

    def forget_warm(self, id: str, action_key: str) -> None:
        """The invoker's pool evicted its (last) warm container of ``action_key``."""
        row = self.state.index.get(id)
        if row is not None:
            self.state.set_warm(row, action_key, False)

    def observe_rtt(self, id: str, rtt_ms: float) -> None:
        """A measured round trip between the controller and invoker ``id`` (the tunnel's
        heartbeat): Proximity from the controller's site then reads it instead of the
        configured site latency. Smoothed (``RTT_ALPHA``), and followed in steps
        (``RTT_STEP``) so a jittering link does not touch the cached entries every time."""
        row = self.state.index.get(id)
        if row is None or not rtt_ms >= 0.0:
            return
        cols = self.state.cols
        old = cols["rtt_ewma_ms"].item(row)
        average = float(rtt_ms) if old < 0 else (1 - RTT_ALPHA) * old + RTT_ALPHA * rtt_ms
        cols["rtt_ewma_ms"][row] = average
        used = cols["rtt_ms"].item(row)
        if used < 0 or abs(average - used) > max(1.0, RTT_STEP * used):
            self.state.set_rtt(row, _resolved(average))

    def placed(self, id: str, memory_mb: int, action_key: str) -> None:
        """An activation of ``action_key`` now runs (or waits) on ``id``: hold its memory."""
        state = self.state
        row = state.index.get(id)
        if row is not None:  # else unregistered meanwhile
            state.charge(row, memory_mb, 1, state.run_ms.get(action_key,
                                                             self.config.default_run_ms))

    def completed(self, id: str, memory_mb: int, action_key: str, run_ms: float | None,
                  warm: bool) -> None:
        """The activation ended: release its memory, learn its run time and warm container.

        ``run_ms`` None: it did not run (the infrastructure failed), nothing to learn.
        ``warm``: a container of ``action_key`` stays warm on the invoker afterwards.
        """
        state = self.state
        row = state.index.get(id)
        if row is None:
            return
        state.charge(row, -memory_mb, -1, -state.run_ms.get(action_key,
                                                            self.config.default_run_ms))
        if run_ms is not None:
            self._learn_run_ms(action_key, float(run_ms))
        state.set_warm(row, action_key, warm)

    def _learn_run_ms(self, action_key: str, run_ms: float) -> None:
        """Fold an observed run time into the action's average (``run_ewma_alpha``); what
        placement reads (``state.run_ms``) follows it in ``RUN_STEP`` steps."""
        state, alpha = self.state, self.config.run_ewma_alpha
        old = state.run_ewma.get(action_key)
        average = run_ms if old is None else (1 - alpha) * old + alpha * run_ms
        state.run_ewma[action_key] = average
        used = state.run_ms.get(action_key)
        if used is None or abs(average - used) > RUN_STEP * used:
            state.set_run_ms(action_key, average)

    # -- placement --------------------------------------------------------------------------

    def constraints_for(self, request: PlacementRequest, bound: Bound) -> tuple[Constraint, ...]:
        """Every constraint of a placement, in check order.

        The bound action's constraints come first, as given; the request's ``always``
        constraints are added (in front) for each plugin the bound action does not use.
        """
        given = tuple(_constraints(bound))
        used = {k.plugin for k in given}
        w = self.config.weight
        always = (
            Constraint(c.HEALTH, {}, hard=True),
            Constraint(c.NAMESPACE_ACCESS, {"namespace": request.namespace}, hard=True),
            Constraint(c.RUNTIME_KIND, {"kind": request.kind}, hard=True),
            Constraint(c.RESOURCES_FIT, {"memory_mb": request.memory_mb}, hard=True),
            Constraint(c.BALANCED_LOAD, {}, weight=w(c.BALANCED_LOAD)),
            Constraint(c.WARM_CONTAINER, {}, weight=w(c.WARM_CONTAINER)),
            Constraint(c.PROXIMITY, {"site": request.site}, weight=w(c.PROXIMITY)),
        )
        return tuple(k for k in always if k.plugin not in used) + given

    def owners(self, namespace: str) -> list[str]:
        """The users on record for ``namespace``: owners of the invokers it may use."""
        view = View(self.state)
        visible = view.has_any("namespace", (OPEN_NAMESPACE, namespace)) & view.col("present")
        codes = np.unique(view.col("owner")[visible])
        names = self.state.names["owner"]
        return sorted(names[int(code)] for code in codes if code >= 0)

    def artifact_sizes(self, sizes: Mapping[str, int]) -> None:
        """Learn artifact sizes (bytes) for the transfer-time estimates."""
        changed = {k: int(v) for k, v in sizes.items() if self.state.sizes.get(k) != int(v)}
        if changed:
            self.state.sizes.update(changed)
            self.state.static_version += 1

    def place(self, request: PlacementRequest, bound: Bound = ()) -> Decision:
        """The invoker id for one activation, or ``Unschedulable`` (nothing changes state)."""
        entry = self._entry(request, bound)
        total = self._sync(entry)
        if total.size:
            best = int(total.argmax())
            if total.item(best) != _NEG_INF:
                row = best if entry.rows is None else entry.rows.item(best)
                id = self.state.ids[row]
                assert id is not None
                return id
        return self.explain(entry.constraints, entry.action)

    def place_many(self, request: PlacementRequest, bounds: Iterable[Bound], *,
                   commit: bool = False) -> list[Decision]:
        """``place`` for each binding of a fan-out; ``commit`` calls ``placed`` after each.

        Bindings that differ only in selective hard filters (``{usr}_device``) are decided
        together (``fanout.place_together``), with the same result as one by one.
        """
        bounds = list(bounds)
        together = place_together(self, request, bounds, commit)
        if together is not None:
            return together
        decisions: list[Decision] = []
        for bound in bounds:
            decision = self.place(request, bound)
            if commit and isinstance(decision, str):
                self.placed(decision, request.memory_mb, request.key)
            decisions.append(decision)
        return decisions

    def explain(self, constraints: Sequence[Constraint], action: str) -> Unschedulable:
        """Count, per hard constraint in order, the invokers it is the first to exclude."""
        state = self.state
        view = View(state)
        remaining = view.col("present").copy()
        excluded: dict[str, int] = {}
        by_plugin: dict[str, int] = {}
        for constraint in constraints:
            plugin = self.plugins[constraint.plugin]
            if not constraint.hard or not plugin.has_filter:
                continue
            ctx = Context(view, constraint.args, action)
            ctx = Context(view, constraint.args, action, plugin.prepare(ctx))
            passing = plugin.filter(ctx)
            count = int(np.count_nonzero(remaining & ~passing))
            remaining &= passing
            if count:
                phrase = plugin.explain(constraint.args)
                excluded[phrase] = excluded.get(phrase, 0) + count
                by_plugin[plugin.NAME] = by_plugin.get(plugin.NAME, 0) + count
        return Unschedulable(state.count, excluded, {}, by_plugin)

    # -- the dynamic part: an entry's totals kept in sync -----------------------------------

    def _sync(self, entry: Entry) -> np.ndarray:
        """``entry.total`` brought up to date with the events since the entry was last used:
        the rows they changed re-scored one by one, or everything when there were many or
        something every row reads changed (``Plugin.depends``)."""
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
        return tuple(s.plugin.depends(s.ctx) for s in entry.watch) != entry.depends

    def _recompute(self, entry: Entry) -> None:
        """Every row's total, in numpy: static, -inf where a dynamic filter fails, plus
        each dynamic score weighted; and the steps' per-row functions made afresh."""
        total = entry.total
        np.copyto(total, entry.static)
        for step in entry.steps:
            plugin, ctx = step.plugin, step.ctx
            if step.hard:
                total[~plugin.filter(ctx)] = NEG_INF
                step.row = plugin.row_filter(ctx)
            else:
                plugin.add_score(ctx, total, step.lo, step.scale)
                step.row = plugin.row_score(ctx)
        entry.shared = self.state.shared_version
        entry.depends = tuple(s.plugin.depends(s.ctx) for s in entry.watch)

    def _update_row(self, entry: Entry, row: int) -> None:
        """One row's total from its static value and each step's per-row form."""
        at = self._position(entry, row)
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

    @staticmethod
    def _position(entry: Entry, row: int) -> int:
        """Where state ``row`` is among the entry's rows; -1: not kept."""
        rows = entry.row_list
        if rows is None:
            return row if row < len(entry.static) else -1
        at = bisect_left(rows, row)  # a third of numpy's searchsorted for one value
        return at if at < len(rows) and rows[at] == row else -1

    # -- the static part: entries built, patched, cached ------------------------------------

    def _entry(self, request: PlacementRequest, bound: Bound) -> Entry:
        key = (request.key, request.namespace, request.kind, request.memory_mb, request.site,
               bound.key if hasattr(bound, "key") else tuple(bound))
        entry = self._entries.get(key)
        state = self.state
        if entry is not None and entry.version == state.static_version and (
                entry.restated == state.restated.seq or self._patch(entry)):
            return entry
        if entry is not None:
            self._entry_bytes -= self._entries.pop(key).nbytes
        entry = self._entries[key] = self._build(self.constraints_for(request, bound),
                                                 request.key)
        self._entry_bytes += entry.nbytes
        while self._entry_bytes > CACHE_BYTES and len(self._entries) > 1:
            oldest = next(iter(self._entries))
            self._entry_bytes -= self._entries.pop(oldest).nbytes
        return entry

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
        at = self._position(entry, row)
        if at < 0:
            return not ok
        value = 0.0
        for plugin, k in entry.scores:
            raw = raw_value(plugin.score(Context(one, k.args, action)), plugin.BOUNDS)
            lo, hi = plugin.BOUNDS or (0.0, 1.0)
            value += k.weight * (raw - lo) * (100.0 / (hi - lo))
        for step in entry.steps:
            if isinstance(step.ctx.prepared, np.ndarray):
                prepared = step.plugin.prepare(Context(one, step.ctx.args, action))
                step.ctx.prepared[at] = prepared[0]
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

    def _build(self, constraints: tuple[Constraint, ...], action: str,
               minmax_apart: bool = False) -> Entry:
        """The cached part of a placement: candidates, the weighted static score, the
        dynamic steps; ``total`` is computed on first use (``_sync``).

        ``minmax_apart``: leave min-max normalised scores out of ``static`` and list their
        raw pieces in ``Entry.minmax`` (a fan-out normalises them per binding)."""
        state = self.state
        version = (state.static_version, state.restated.seq)
        if self._pieces_version != version:
            self._pieces.clear()
            self._pieces_version = version
        full = View(state)
        used = [(self.plugins[k.plugin], k) for k in constraints]
        hard = [(p, k) for p, k in used if k.hard and not p.dynamic and p.has_filter]
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
                self._add_step(entry, plugin, k, view)
            elif not k.hard and plugin.has_score:
                raw = self._piece(plugin, k, full, "score")
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
        entry.watch = [s for s in entry.steps if type(s.plugin).depends is not Plugin.depends]
        return entry

    @staticmethod
    def _add_step(entry: Entry, plugin: Plugin, k: Constraint, view: View) -> None:
        """A dynamic constraint as a step of ``entry`` (a score weighing 0 adds nothing)."""
        if k.hard and not plugin.has_filter or not k.hard and not plugin.has_score:
            return
        lo, hi = 0.0, 1.0
        if not k.hard:
            assert plugin.BOUNDS is not None, f"{plugin.NAME}: dynamic needs BOUNDS"
            lo, hi = plugin.BOUNDS
            if k.weight == 0:
                return
        ctx = Context(view, k.args, entry.action)
        entry.steps.append(Step(plugin, Context(view, k.args, entry.action, plugin.prepare(ctx)),
                                k.hard, k.weight, lo, k.weight * 100.0 / (hi - lo)))

    def _seed(self, hard: list[tuple[Plugin, Constraint]], full: View) -> np.ndarray | None:
        """The candidates' rows when a hard filter's member index names only a few: they are
        then checked against the (cached, shared) AND of the other hard filters. None: take
        the dense path."""
        best: tuple[np.ndarray, int] | None = None
        for i, (plugin, k) in enumerate(hard):
            rows = plugin.rows(Context(full, k.args, ""))
            if rows is not None and (best is None or len(rows) < len(best[0])):
                best = (rows, i)
        if best is None or len(best[0]) >= SPARSE_FRACTION * self.state.n:
            return None
        rows, seed = best
        return rows[self._and([h for i, h in enumerate(hard) if i != seed], full)[rows]]

    def _and(self, hard: list[tuple[Plugin, Constraint]], full: View) -> np.ndarray:
        """present AND every filter of ``hard``; each prefix is cached and shared."""
        candidates = full.col("present")
        prefix: tuple[Hashable, ...] = ("and",)
        for plugin, k in hard:
            prefix += (_piece_key("filter", k),)
            found = self._cached(prefix)
            if found is None:
                found = self._store(prefix, candidates & self._piece(plugin, k, full, "filter"))
            candidates = found
        return candidates

    def _piece(self, plugin: Plugin, k: Constraint, view: View, method: str) -> np.ndarray:
        """A static plugin's raw filter mask or score over all rows, shared across entries."""
        key = _piece_key(method, k)
        piece = self._cached(key)
        if piece is None:
            ctx = Context(view, k.args, "")
            result = plugin.filter(ctx) if method == "filter" else plugin.score(ctx)
            if isinstance(result, Sparse):
                assert plugin.BOUNDS is not None
                dense = np.full(view.size, plugin.BOUNDS[0])
                dense[result.positions] = result.value
                result = dense
            piece = self._store(key, np.asarray(result))
        return piece

    def _cached(self, key: Hashable) -> np.ndarray | None:
        """A piece of this static version, kept as most recently used."""
        piece = self._pieces.pop(key, None)
        if piece is not None:
            self._pieces[key] = piece
        return piece

    def _store(self, key: Hashable, piece: np.ndarray) -> np.ndarray:
        self._pieces[key] = piece
        if len(self._pieces) > PIECES:
            self._pieces.pop(next(iter(self._pieces)))  # the least recently used
        return piece


def _range(raw: np.ndarray, candidates: np.ndarray | None) -> tuple[float, float]:
    """The (min, max) a min-max score is normalised with: over the candidates; (0, 0) when
    there are none (``normalise`` then gives 0)."""
    pool = raw if candidates is None else raw[candidates]
    if pool.size == 0:
        return 0.0, 0.0
    return float(pool.min()), float(pool.max())


def _piece_key(method: str, k: Constraint) -> Hashable:
    return (method, k.plugin, tuple(sorted(k.args.items())))


def _constraints(bound: Bound) -> Sequence[Constraint]:
    found = getattr(bound, "constraints", None)
    return found if found is not None else bound  # type: ignore[return-value]
