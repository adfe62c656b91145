"""The Engine: runs the plugins over the cluster state and picks one invoker.

How a placement is decided (``place``):

1. The constraints are the bound action's (the preprocessor's ``BoundAction``, or a plain
   sequence of ``Constraint``), preceded by the request's ``always`` ones (Health,
   NamespaceAccess, RuntimeKind, ResourcesFit hard; BalancedLoad, WarmContainer, Proximity
   soft) for each plugin the bound action does not already use (``constraints_for``).
2. Static part, cached per (action version, binding, namespace, kind, memory, site) until the
   cluster's static version changes: the AND of the static hard filters ("candidates"), and
   the sum over static soft constraints of weight x normalised score (0-100; min-max plugins
   normalise over the candidates). When the candidates are few the entry keeps just their
   rows, so a selective hard constraint makes every later placement cheaper.
3. Dynamic part, per placement: Health and BalancedLoad live in one vector the engine keeps
   up to date row by row as events arrive (``register``, ``heartbeat``, ``placed``,
   ``completed``); the binding's dynamic plugins (WarmContainer, DeadlineFeasibility, ...)
   run on the entry's rows. Dynamic scores have fixed BOUNDS, so no min/max over the cluster.
4. Total = static + dynamic (filtered-out rows are -inf); the best total wins.

Tie rule: among equal best totals the lowest state row wins (``numpy.argmax`` takes the
first) -- registration order, with the rows of unregistered invokers reused lowest first.

Weights: a soft constraint weighs ``constraint.weight`` (the preprocessor writes the
configured weight into it); the ``always`` constraints the engine adds weigh
``config.weight(plugin)``. Nothing found: an ``Unschedulable`` counting each invoker under
the first hard constraint (in constraint order) that excludes it.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from . import constraints as c
from .config import PlacementConfig
from .constraints import Constraint
from .entry import Bound, Entry, Step
from .fanout import place_together
from .interface import Decision, InvokerState, PlacementRequest, Unschedulable
from .plugin import Context, Plugin, Sparse, normalise
from .registry import PLUGINS
from .state import OPEN_NAMESPACE, ClusterState, View

NEG_INF = np.float32(-np.inf)
SPARSE_FRACTION = 0.25
"""An entry whose candidates are under this share of the rows keeps only their rows."""
ROW_UPDATES = 32
"""Up to this many changed rows are refreshed one by one (``row_value``), else vectorised."""
PIECES = 512
"""Static plugin results (and ANDs of hard filters) kept per cluster version, LRU."""
CACHE_BYTES = 64 * 1024 * 1024
"""Budget of the cached static vectors; the oldest entries go first when it is exceeded."""


class Engine:
    """Placement over a ``ClusterState`` kept in sync by the registry and the dispatcher."""

    def __init__(self, config: PlacementConfig | None = None,
                 plugins: Mapping[str, type[Plugin]] = PLUGINS) -> None:
        self.config = config or PlacementConfig()
        self.plugins = {name: cls(self.config) for name, cls in plugins.items()}
        self.state = ClusterState()
        self._health_plugin = self.plugins[c.HEALTH]
        self._balance = self.plugins[c.BALANCED_LOAD]
        self._balance_weight = self.config.weight(c.BALANCED_LOAD)
        self._row_values = all(type(p).row_value is not Plugin.row_value
                               for p in (self._health_plugin, self._balance))
        self._health = np.zeros(0, np.float32)  # per row: 0 healthy, -inf not
        self._load = np.zeros(0, np.float32)  # per row: normalised BalancedLoad (0-100)
        self._dyn = np.zeros(0, np.float32)  # health + configured weight x load
        self._entries: dict[Hashable, Entry] = {}
        self._entry_bytes = 0
        self._pieces: dict[Hashable, np.ndarray] = {}  # static raw results, this version
        self._pieces_version = -1

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

    def placed(self, id: str, memory_mb: int, action_key: str) -> None:
        """An activation of ``action_key`` now runs (or waits) on ``id``: hold its memory."""
        row = self.state.index.get(id)
        if row is None:
            return  # unregistered meanwhile
        state = self.state
        cols = state.cols
        cols["free_memory_mb"][row] -= memory_mb
        cols["in_flight"][row] += 1
        state.add_backlog(row, state.run_ms.get(action_key, self.config.default_run_ms))

    def completed(self, id: str, memory_mb: int, action_key: str, run_ms: float | None,
                  warm: bool) -> None:
        """The activation ended: release its memory, learn its run time and warm container.

        ``run_ms`` None: it did not run (the infrastructure failed), nothing to learn.
        ``warm``: a container of ``action_key`` stays warm on the invoker afterwards.
        """
        row = self.state.index.get(id)
        if row is None:
            return
        cols = self.state.cols
        cols["free_memory_mb"][row] += memory_mb
        cols["in_flight"][row] = max(0, int(cols["in_flight"][row]) - 1)
        self.state.add_backlog(row, -self._run_ms(action_key))
        if run_ms is not None:
            alpha = self.config.run_ewma_alpha
            old = self.state.run_ms.get(action_key)
            self.state.run_ms[action_key] = (
                float(run_ms) if old is None else (1 - alpha) * old + alpha * float(run_ms))
        self.state.set_warm(row, action_key, warm)
        self.state.dirty.add(row)

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
        total = self._total(entry)
        if total.size:
            best = int(total.argmax())
            if total[best] != NEG_INF:
                row = best if entry.rows is None else int(entry.rows[best])
                id = self.state.ids[row]
                assert id is not None
                return id
        return self.explain(entry.constraints, entry.action)

    def _total(self, entry: Entry) -> np.ndarray:
        """Static + dynamic totals over the entry's rows (-inf: excluded), up to one
        constant for all rows (what ``Plugin.add_score`` left out: it changes no choice)."""
        self._refresh()
        total = entry.static + self._dynamic(entry)
        for step in entry.steps:
            if step.hard:
                total = np.where(step.plugin.filter(step.ctx), total, NEG_INF)
                continue
            step.plugin.add_score(step.ctx, total, step.lo, step.scale)
        return total

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

    # -- internals --------------------------------------------------------------------------

    def _run_ms(self, action_key: str) -> float:
        return self.state.run_ms.get(action_key, self.config.default_run_ms)

    def _refresh(self) -> None:
        """Bring the Health and BalancedLoad vectors up to date for the rows that changed:
        O(1) per changed row through the plugins' ``row_value`` when there are few."""
        state = self.state
        if len(self._dyn) != state.n:
            self._health, self._load = self._global(View(state))
            self._dyn = self._health + np.float32(self._balance_weight) * self._load
        elif len(state.dirty) <= ROW_UPDATES and self._row_values:
            view, present = View(state), state.cols["present"]
            lo, hi = self._balance.BOUNDS or (0.0, 1.0)
            scale, weight = 100.0 / (hi - lo), self._balance_weight
            for row in state.dirty:
                up = present[row] and self._health_plugin.row_value(view, row)
                share = ((self._balance.row_value(view, row) or 0.0) - lo) * scale
                self._health[row] = 0.0 if up else -np.inf
                self._load[row] = share
                self._dyn[row] = weight * share if up else -np.inf
        elif state.dirty:
            rows = np.fromiter(state.dirty, np.intp, len(state.dirty))
            health, load = self._global(View(state, rows))
            self._health[rows], self._load[rows] = health, load
            self._dyn[rows] = health + np.float32(self._balance_weight) * load
        state.dirty.clear()

    def _global(self, view: View) -> tuple[np.ndarray, np.ndarray]:
        """Health (0 or -inf) and normalised BalancedLoad (0-100) over ``view``, float32."""
        ctx = Context(view, {}, "")
        raw = self._balance.score(ctx)
        assert not isinstance(raw, Sparse) and self._balance.BOUNDS is not None
        lo, hi = self._balance.BOUNDS
        load = ((raw - lo) * (100.0 / (hi - lo))).astype(np.float32)
        up = self._health_plugin.filter(ctx) & view.col("present")
        return np.where(up, np.float32(0), NEG_INF), load

    def _dynamic(self, entry: Entry) -> np.ndarray:
        """Health plus the entry's BalancedLoad weight times load, over the entry's rows."""
        if entry.load_weight == self._balance_weight:
            return self._dyn if entry.rows is None else self._dyn[entry.rows]
        health, load = self._health, self._load
        if entry.rows is not None:
            health, load = health[entry.rows], load[entry.rows]
        return health + np.float32(entry.load_weight) * load

    def _entry(self, request: PlacementRequest, bound: Bound) -> Entry:
        key = (request.key, request.namespace, request.kind, request.memory_mb, request.site,
               bound.key if hasattr(bound, "key") else tuple(bound))
        entry = self._entries.get(key)
        if entry is None or entry.version != self.state.static_version:
            if entry is not None:
                self._entry_bytes -= entry.nbytes
            entry = self._entries[key] = self._build(self.constraints_for(request, bound),
                                                     request.key)
            self._entry_bytes += entry.nbytes
            while self._entry_bytes > CACHE_BYTES and len(self._entries) > 1:
                oldest = next(iter(self._entries))
                self._entry_bytes -= self._entries.pop(oldest).nbytes
        return entry

    def _build(self, constraints: tuple[Constraint, ...], action: str,
               minmax_apart: bool = False) -> Entry:
        """The cached part of a placement: candidates and the weighted static score.

        ``minmax_apart``: leave min-max normalised scores out of ``static`` and list their
        raw pieces in ``Entry.minmax`` (a fan-out normalises them per binding)."""
        state = self.state
        if self._pieces_version != state.static_version:
            self._pieces.clear()
            self._pieces_version = state.static_version
        full = View(state)
        served = [k for k in constraints if k.plugin == c.BALANCED_LOAD and not k.hard]
        static = [(self.plugins[k.plugin], k) for k in constraints
                  if k.plugin != c.HEALTH and k not in served]
        hard = [(p, k) for p, k in static if k.hard and not p.dynamic and p.has_filter]
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
        steps: list[Step] = []
        minmax: list[tuple[np.ndarray, float]] = []
        for plugin, k in static:
            weight = k.weight
            if plugin.dynamic:
                if k.hard and plugin.has_filter or not k.hard and plugin.has_score:
                    lo, hi = 0.0, 1.0
                    if not k.hard:
                        assert plugin.BOUNDS is not None, f"{plugin.NAME}: dynamic needs BOUNDS"
                        lo, hi = plugin.BOUNDS
                    ctx = Context(view, k.args, action)
                    steps.append(Step(plugin, Context(view, k.args, action, plugin.prepare(ctx)),
                                      k.hard, weight, lo, weight * 100.0 / (hi - lo)))
            elif not k.hard and plugin.has_score:
                raw = self._piece(plugin, k, full, "score")
                if minmax_apart and plugin.BOUNDS is None:
                    minmax.append((raw, weight))
                elif sparse:  # the candidates are exactly these rows
                    total += weight * normalise(raw[rows], size, plugin.BOUNDS)
                else:
                    total += weight * normalise(raw, size, plugin.BOUNDS, candidates)
        if not sparse:
            total[~candidates] = -np.inf
        return Entry(state.static_version, rows if sparse else None,
                     total.astype(np.float32), steps, constraints, action,
                     sum(k.weight for k in served), minmax)

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


def _piece_key(method: str, k: Constraint) -> Hashable:
    return (method, k.plugin, tuple(sorted(k.args.items())))


def _constraints(bound: Bound) -> Sequence[Constraint]:
    found = getattr(bound, "constraints", None)
    return found if found is not None else bound  # type: ignore[return-value]
