"""Our side of the placement benchmark: the controller's placement ``Engine`` on the population.

Why through the public API only: the numbers must be what the controller gets. Invokers come in
through ``register`` (one ``InvokerState`` each), an activation is ``place`` (the timed
decision) followed by ``placed`` (the state update the dispatcher makes), and an activation
ends with ``completed`` ``COMPLETION_LAG`` placements later, so the cluster stays in a steady
state with that many activations in flight instead of filling up. Each completion reports a
run time jittered +-``RUN_JITTER`` around ``RUN_MS`` (seeded), as real ones are: the engine
learns run times from completions, and a constant one would hide what that learning costs.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from edgewhisk_controller.placement import Engine
from edgewhisk_controller.placement.config import PlacementConfig
from edgewhisk_controller.placement.constraints import ARGS, Args, Constraint, HardAndSoft
from edgewhisk_controller.placement.interface import InvokerState, PlacementRequest
from population import SITES, Population, iter_fields
from workload import ACTION, ACTION_KIND, ACTION_MEMORY_MB, NAMESPACE, RUN_MS, Term

COMPLETION_LAG = 1000
RUN_JITTER = 0.2


def config_for(population: Population) -> PlacementConfig:
    """Weights 1 for every plugin (as skippy's priorities), the population's latency matrix."""
    latency = {f"{a}|{b}": float(population.site_latency_ms[i, j])
               for i, a in enumerate(SITES) for j, b in enumerate(SITES) if i < j}
    weights = {name: 1.0 for name in (
        "NodeSelector", "Capability", "NetworkMembership", "ArtifactLocality", "Proximity",
        "DeadlineFeasibility", "WarmContainer", "CachedArtifact", "BalancedLoad")}
    return PlacementConfig(weights=weights, site=SITES[0], same_site_ms=0.5,
                           latency_ms=latency, default_run_ms=RUN_MS)


def build_engine(population: Population) -> Engine:
    engine = Engine(config_for(population))
    engine.artifact_sizes(population.artifact_bytes)
    for fields in iter_fields(population):
        engine.register(_state(fields))
    return engine


def _state(fields: dict[str, Any]) -> InvokerState:
    known = InvokerState.__dataclass_fields__
    return InvokerState(**{k: v for k, v in fields.items() if k in known})


def engine_args(term: Term, population: Population) -> Args:
    """The term's arguments as the plugin's typed ``Args`` (built once per run, as the
    preprocessor does per compiled action): ArtifactLocality's artifacts with their sizes."""
    args = dict(term.args)
    if term.plugin == "ArtifactLocality":
        args["artifacts"] = tuple((ref, population.artifact_bytes.get(ref, 0))
                                  for ref in args["artifacts"])
    return ARGS[term.plugin](**args)


def constraints(hard: list[Term], soft: list[Term], population: Population,
                ) -> tuple[Constraint, ...]:
    """The bound action's constraints: every term. The engine adds its ``always`` ones only
    for plugins these do not use (NamespaceAccess; WarmContainer below 2 soft terms,
    Proximity to the request's site below 3)."""
    return tuple(Constraint(engine_args(t, population), t.hard, 1.0) for t in (*hard, *soft))


@dataclass(frozen=True)
class BenchAction(HardAndSoft):
    """What ``Engine.place`` reads of a bound action (a ``placement.Bound``)."""

    key: str
    constraints: tuple[Constraint, ...]
    site: str | None = None
    artifacts: tuple[Any, ...] = ()
    binding: tuple[tuple[str, str], ...] = ()


def request() -> PlacementRequest:
    """The activation placed: ``ACTION`` called from ``SITES[0]``."""
    ns, rest = ACTION.split("/", 1)
    name, version = rest.split("@", 1)
    return PlacementRequest(action=f"{ns}/{name}", kind=ACTION_KIND, memory_mb=ACTION_MEMORY_MB,
                            namespace=NAMESPACE, version=version, site=SITES[0])


@dataclass
class Run:
    latencies: np.ndarray  # seconds per decision
    wall: float  # seconds of the loop, ``placed`` and ``completed`` included
    cold: float  # the first decision (builds the cached masks and static scores)
    cpu: float  # CPU seconds of the loop (immune to other processes on a shared core)
    cpu_latencies: np.ndarray  # CPU seconds per decision (this thread)
    chosen: set[str]  # every invoker chosen


def run(engine: Engine, population: Population, hard: list[Term], soft: list[Term],
        max_placements: int, max_seconds: float,
        on_progress: Callable[[int], None] | None = None, explain: bool = False) -> Run:
    """Place until ``max_placements`` or ``max_seconds``; ``explain``: each decision is
    also explained (``Engine.why``, what the dispatcher records), inside the timed part."""
    req = request()
    bound = BenchAction(f"{ACTION}|bench-soft-{len(soft)}",
                        constraints(hard, soft, population))
    key = req.key
    place, placed, completed = engine.place, engine.placed, engine.completed
    latencies = np.zeros(max_placements, np.int64)
    cpu_latencies = np.zeros(max_placements, np.int64)
    pending: deque[str] = deque()
    chosen: list[str] = []
    run_ms = (RUN_MS * np.random.default_rng(0).uniform(1 - RUN_JITTER, 1 + RUN_JITTER,
                                                        max_placements)).tolist()
    clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    cpu_start = time.process_time()
    start = clock()
    stop = start + int(max_seconds * 1e9)
    done = 0
    while done < max_placements:
        c0, t0 = cpu_clock(), clock()
        decision = place(req, bound)
        if explain and isinstance(decision, str):
            engine.why(req, decision, bound)
        latencies[done] = clock() - t0
        cpu_latencies[done] = cpu_clock() - c0
        if not isinstance(decision, str):
            raise RuntimeError(f"the engine found no invoker: {decision.reason}")
        placed(decision, ACTION_MEMORY_MB, key)
        pending.append(decision)
        chosen.append(decision)
        if len(pending) > COMPLETION_LAG:
            completed(pending.popleft(), ACTION_MEMORY_MB, key, run_ms[done], True)
        done += 1
        if done & 255 == 0:
            if on_progress is not None:
                on_progress(done)
            if clock() > stop:
                break
    wall = (clock() - start) / 1e9
    cpu = time.process_time() - cpu_start
    while pending:
        completed(pending.popleft(), ACTION_MEMORY_MB, key, RUN_MS, True)
    lat = latencies[:done] / 1e9
    return Run(lat, wall, float(lat[0]), cpu, cpu_latencies[:done] / 1e9, set(chosen))


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def _fresh(fields: dict[str, Any]) -> dict[str, Any]:
    """Copies of the population's shared objects, as a heartbeat would deliver them."""
    copy = {k: frozenset(list(v)) if isinstance(v, frozenset) else v for k, v in fields.items()}
    copy["id"] = "".join(list(fields["id"]))
    copy["labels"] = {"".join(list(k)): "".join(list(v)) for k, v in fields["labels"].items()}
    return copy


def _register_fresh(population: Population) -> Engine:
    engine = Engine(config_for(population))
    for i in range(len(population)):
        engine.register(_state(_fresh(population.invoker_fields(i))))
    return engine


def memory(population: Population, traced: bool = False) -> dict[str, float | None]:
    """Memory our engine holds for ``population``: the RSS growth while registering every
    invoker (run first in the process, so freed memory from earlier work cannot hide it) and,
    with ``traced``, the allocations tracemalloc counts for a second engine (exact, but
    tracing makes registration about ten times slower). Each invoker's state is built from
    fresh copies inside the measured region, so whatever the engine keeps of it is counted, as
    with heartbeats. ``columns_mb`` is the nbytes of the engine's numpy columns alone."""
    gc.collect()
    rss0 = rss_bytes()
    t0 = time.perf_counter()
    engine = _register_fresh(population)
    seconds = time.perf_counter() - t0
    gc.collect()
    rss1 = rss_bytes()
    nbytes = engine.state.nbytes()
    del engine
    gc.collect()
    result: dict[str, float | None] = {
        "invokers": len(population), "rss_growth_mb": (rss1 - rss0) / 2**20,
        "columns_mb": nbytes / 2**20, "register_s": seconds,
        "traced_mb": None}
    if traced:
        tracemalloc.start()
        engine = _register_fresh(population)
        gc.collect()
        result["traced_mb"] = tracemalloc.get_traced_memory()[0] / 2**20
        tracemalloc.stop()
        del engine
        gc.collect()
    return result
