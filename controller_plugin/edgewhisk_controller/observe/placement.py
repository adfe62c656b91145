"""The engine's decisions as series: placements, their latency, unschedulable constraints.

Why a wrapper around the engine rather than code inside it: the engine's hot path (10-20 µs a
placement at 12,583 invokers) stays free of metrics; this adapter is the seam. It implements
the placement contract (``placement.PlacementEngine``) by delegating every call, and times
only ``place``/``place_many`` with two ``perf_counter`` reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from time import perf_counter
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric

from ..placement.config import PlacementConfig
from ..placement.constraints import Bound
from ..placement.framework import NOTHING
from ..placement.interface import Decision, InvokerState, PlacementEngine, PlacementRequest
from ..placement.interface import Unschedulable as NoInvoker
from .tally import Tally, counter, histogram

LATENCY_BUCKETS = (1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 1e-2, 0.1)


PLACED = ("placed",)
"""The result label of a decision that chose an invoker."""


class PlacementSeries:
    """Decisions by result, their latency, unschedulable exclusions by constraint: plain
    numbers on every decision (``tally``), series when the registry is scraped."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.decisions: dict[tuple[str, ...], int] = {PLACED: 0}  # by result
        self.latency = Tally(LATENCY_BUCKETS)
        self.unschedulable: dict[tuple[str, ...], int] = {}  # by constraint
        registry.register(self)

    def decided(self, decision: Decision, seconds: float) -> None:
        self.latency.observe(seconds)
        if isinstance(decision, NoInvoker):
            _add(self.decisions, ("unschedulable",), 1)
            for plugin, count in decision.plugins.items():
                _add(self.unschedulable, (plugin,), count)
        else:
            self.decisions[PLACED] += 1

    def collect(self) -> Iterator[Metric]:
        """The series at scrape time (``prometheus_client``'s collector protocol)."""
        yield counter("edgewhisk_placement_decisions", "Placement decisions, by result",
                      ("result",), self.decisions)
        yield histogram("edgewhisk_placement_latency_seconds", "Time of one placement decision",
                        (), [((), self.latency)])
        yield counter("edgewhisk_unschedulable_invokers",
                      "Invokers excluded from unschedulable activations, by the constraint "
                      "that excluded them (Kubernetes-style counts)", ("constraint",),
                      self.unschedulable)


def _add(counts: dict[tuple[str, ...], int], key: tuple[str, ...], count: int) -> None:
    counts[key] = counts.get(key, 0) + count


DELEGATED = ("why", "register", "unregister", "heartbeat", "forget_warm", "observe_rtt",
             "placed", "completed", "owners", "artifact_sizes")
"""The contract's calls that are not timed: each instance binds the engine's own methods
under these names (the methods below state the contract for the type checker)."""


class ObservedEngine:
    """``engine`` with its decisions counted and timed (``PlacementEngine``)."""

    def __init__(self, engine: PlacementEngine, series: PlacementSeries) -> None:
        self.engine = engine
        self.series = series
        self._place = engine.place
        for name in DELEGATED:  # the engine's own bound methods: no wrapper frame per call
            setattr(self, name, getattr(engine, name))

    @property
    def config(self) -> PlacementConfig:
        return self.engine.config

    def __getattr__(self, name: str) -> Any:
        """What is not the contract (the engine's ``state``, its ``cache``: benchmarks and
        tests read them) is the engine's own."""
        return getattr(self.engine, name)

    def place(self, request: PlacementRequest, bound: Bound = NOTHING) -> Decision:
        start = perf_counter()
        decision = self._place(request, bound)
        seconds = perf_counter() - start
        if type(decision) is str:  # placed: ``decided``'s common case, without its call
            series = self.series
            series.latency.observe(seconds)
            series.decisions[PLACED] += 1
        else:
            self.series.decided(decision, seconds)
        return decision

    def place_many(self, request: PlacementRequest, bounds: Iterable[Bound], *,
                   commit: bool = False) -> list[Decision]:
        start = perf_counter()
        decisions = self.engine.place_many(request, bounds, commit=commit)
        each = (perf_counter() - start) / max(1, len(decisions))
        for decision in decisions:
            self.series.decided(decision, each)
        return decisions

    # -- delegated as they are --------------------------------------------------------------

    def why(self, request: PlacementRequest, chosen: str,
            bound: Bound = NOTHING) -> dict[str, Any] | None:
        return self.engine.why(request, chosen, bound)

    def register(self, state: InvokerState) -> None:
        self.engine.register(state)

    def unregister(self, id: str) -> None:
        self.engine.unregister(id)

    def heartbeat(self, id: str, **changes: Any) -> None:
        self.engine.heartbeat(id, **changes)

    def forget_warm(self, id: str, action_key: str) -> None:
        self.engine.forget_warm(id, action_key)

    def observe_rtt(self, id: str, rtt_ms: float) -> None:
        self.engine.observe_rtt(id, rtt_ms)

    def placed(self, id: str, memory_mb: int, action_key: str) -> None:
        self.engine.placed(id, memory_mb, action_key)

    def completed(self, id: str, memory_mb: int, action_key: str, run_ms: float | None,
                  warm: bool) -> None:
        self.engine.completed(id, memory_mb, action_key, run_ms, warm)

    def owners(self, namespace: str) -> list[str]:
        return self.engine.owners(namespace)

    def artifact_sizes(self, sizes: Mapping[str, int]) -> None:
        self.engine.artifact_sizes(sizes)
