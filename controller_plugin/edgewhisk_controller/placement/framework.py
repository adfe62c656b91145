"""The Engine: the cluster state kept in step with events, and the decision.

How a placement is decided (``place``):

1. The constraints are the bound action's, preceded by the ``always`` ones
   (``constraints.always``: Health, NamespaceAccess, ResourcesFit, RuntimeKind hard;
   BalancedLoad, WarmContainer, Proximity soft, from the request) for each plugin the bound
   action does not already use (``constraints_for``; a compiled action has them all).
2. The entry of the placement key (``cache.EntryCache``): candidates and weighted static
   scores cached per (action version, binding, namespace, kind, memory, site), and ``total``
   = static + dynamic steps, caught up on the rows events changed since it was last used.
3. The best total wins (filtered-out rows are -inf): one ``argmax``.

Tie rule: among equal best totals the lowest state row wins (``numpy.argmax`` takes the
first) -- registration order, with the rows of unregistered invokers reused lowest first.

Weights: a soft constraint weighs ``constraint.weight`` (the preprocessor writes the
configured weight into it); the ``always`` constraints the engine adds weigh
``config.weight(plugin)``. Nothing found: an ``Unschedulable`` counting each invoker under
the first hard constraint (in constraint order) that excludes it.

Measured round trips: the tunnel smooths them (``tunnel.health.RoundTrip``, the one running
average); ``observe_rtt`` only follows that average in steps.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from .cache import EntryCache
from .config import PlacementConfig
from .constraints import Bound, Constraint, Constraints, always
from .entry import Entry
from .explain import explain_choice
from .interface import (
    CAPACITY,
    REGISTERED,
    Decision,
    InvokerState,
    Listener,
    PlacementRequest,
    Unschedulable,
)
from .plugin import Context, Filter, Plugin, prepared
from .plugins import PLUGINS
from .state import OPEN_NAMESPACE, ClusterState, View
from .together import place_together

_NEG_INF = float("-inf")
NOTHING = Constraints()
"""A bound action without constraints of its own: only the ``always`` ones."""
RUN_STEP = 0.1
"""Placement follows an action's run-time average only when it moved this share away: a new
run time moves every row's deadline estimate (a full recompute of the entries using it),
so it must not change with every completion; the estimate is no finer than that anyway."""
EXCLUDED_TTL_S = 1.0
"""How old the exclusion counts of a recorded explanation may be (``Engine._excluded``)."""
RTT_STEP = 0.2
"""Proximity follows the measured round trip only when it moved this share (or 1 ms) away: a
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
    """Placement over a ``ClusterState`` kept in sync by the registry and the dispatcher;
    the ``interface.PlacementEngine`` contract."""

    def __init__(self, config: PlacementConfig | None = None,
                 plugins: Mapping[str, type[Plugin[Any]]] = PLUGINS) -> None:
        self.config = config or PlacementConfig()
        self.plugins: dict[str, Plugin[Any]] = {
            name: cls(self.config) for name, cls in plugins.items()}
        self.state = ClusterState()
        self.cache = EntryCache(self.state, self.plugins)
        self.listeners: list[Listener] = []

    # -- incremental state ------------------------------------------------------------------

    def listen(self, listener: Listener) -> None:
        """Call ``listener`` after every registration, heartbeat and completion (see
        ``interface.Listener``); it must not call back into the engine synchronously."""
        self.listeners.append(listener)

    def _tell(self, id: str, fields: frozenset[str]) -> None:
        for listener in self.listeners:
            listener(id, fields)

    def register(self, state: InvokerState) -> None:
        self.state.add(state)
        self._tell(state.id, REGISTERED)

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
        if changes and self.listeners:
            self._tell(id, frozenset(changes))

    def forget_warm(self, id: str, action_key: str) -> None:
        """The invoker's pool evicted its (last) warm container of ``action_key``."""
        row = self.state.index.get(id)
        if row is not None:
            self.state.set_warm(row, action_key, False)

    def observe_rtt(self, id: str, rtt_ms: float) -> None:
        """The smoothed round trip between the controller and invoker ``id`` (the tunnel's
        heartbeats): Proximity from the controller's site then reads it instead of the
        configured site latency. Followed in steps (``RTT_STEP``, ``RTT_RESOLUTION_MS``) so
        a jittering link does not touch the cached entries every time."""
        row = self.state.index.get(id)
        if row is None or not rtt_ms >= 0.0:
            return
        used = self.state.cols["rtt_ms"].item(row)
        if used < 0 or abs(rtt_ms - used) > max(1.0, RTT_STEP * used):
            self.state.set_rtt(row, _resolved(float(rtt_ms)))

    def placed(self, id: str, memory_mb: int, action_key: str) -> None:
        """An activation of ``action_key`` now runs (or waits) on ``id``: hold its memory."""
        state = self.state
        row = state.index.get(id)
        if row is not None:  # else unregistered meanwhile
            state.charge(row, memory_mb, 1, state.run_ms.get(action_key,
                                                             self.config.default_run_ms))

    def free_memory(self, id: str) -> float | None:
        """The memory this engine's view holds free on ``id`` (below 0: more was placed there
        than it holds, the pool queues); None if ``id`` is not registered."""
        row = self.state.index.get(id)
        return None if row is None else float(self.state.cols["free_memory_mb"].item(row))

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
        if self.listeners:
            self._tell(id, CAPACITY)

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

    # -- placement --------------------------------------------------------------------------

    def constraints_for(self, request: PlacementRequest, bound: Bound) -> tuple[Constraint, ...]:
        """Every constraint of a placement, in check order: the request's ``always`` ones
        each plugin the bound action does not use, then the bound action's, as given."""
        given = bound.constraints
        used = {k.plugin for k in given}
        added = always(request.namespace, request.kind, request.memory_mb, request.key,
                       request.site, self.config.weight)
        return tuple(k for k in added if k.plugin not in used) + given

    @staticmethod
    def key(request: PlacementRequest, bound: Bound = NOTHING) -> tuple[Any, ...]:
        """The entry key of a placement (``explain.explain_choice`` finds the entry by it)."""
        return (request.key, request.namespace, request.kind, request.memory_mb, request.site,
                bound.key)

    def place(self, request: PlacementRequest, bound: Bound = NOTHING) -> Decision:
        """The invoker id for one activation, or ``Unschedulable`` (nothing changes state)."""
        key = self.key(request, bound)
        cache = self.cache
        entry = cache.get(key)
        if entry is None:
            entry = cache.add(key, self.constraints_for(request, bound), request.key)
        total = cache.sync(entry)
        if total.size:
            best = int(total.argmax())
            if total.item(best) != _NEG_INF:
                row = best if entry.rows is None else entry.rows.item(best)
                id = self.state.ids[row]
                assert id is not None
                return id
        return self.explain(entry.constraints, entry.action)

    def why(self, request: PlacementRequest, chosen: str,
            bound: Bound = NOTHING) -> dict[str, Any] | None:
        """Why ``place(request, bound)`` chose ``chosen``: asked right after the decision, it
        is read from the entry the decision used (``explain.py``); None if it is gone."""
        entry = self.cache.get(self.key(request, bound))
        if entry is None:
            return None
        return explain_choice(self.state, entry, chosen, lambda: self._excluded(entry))

    def _excluded(self, entry: Entry) -> dict[str, int]:
        """The entry's exclusion counts (``explain``), at most ``EXCLUDED_TTL_S`` old: the
        pass over the whole cluster costs ~200 µs at 12,583 invokers, ten placements' worth,
        so a busy action's explanations share one per period (an entry is rebuilt, and its
        counts with it, whenever an invoker joins, leaves or changes its static attributes)."""
        now = time.monotonic()
        if entry.excluded is None or now - entry.excluded[0] > EXCLUDED_TTL_S:
            counts = dict(self.explain(entry.constraints, entry.action).excluded)
            entry.excluded = (now, counts)
        return entry.excluded[1]

    def place_many(self, request: PlacementRequest, bounds: Iterable[Bound], *,
                   commit: bool = False) -> list[Decision]:
        """``place`` for each binding of a fan-out; ``commit`` calls ``placed`` after each.

        Bindings that differ only in selective hard filters (``{usr}_device``) are decided
        together (``together.place_together``), with the same result as one by one.
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
            if not constraint.hard or not isinstance(plugin, Filter):
                continue
            passing = plugin.filter(prepared(plugin, Context(view, constraint.args, action)))
            count = int(np.count_nonzero(remaining & ~passing))
            remaining &= passing
            if count:
                phrase = plugin.explain(constraint.args)
                excluded[phrase] = excluded.get(phrase, 0) + count
                by_plugin[plugin.NAME] = by_plugin.get(plugin.NAME, 0) + count
        return Unschedulable(state.count, excluded, {}, by_plugin)
