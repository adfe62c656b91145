"""What metrics and placement explanations add to one invoke, timed in this process.

Why next to the controllers' CPU per invoke: on a shared 2-core machine two controller
processes' CPU per invoke differ by more than the hooks cost (cache, frequency and scheduler
effects of the other load), so the side-by-side cost swings by ±10 % between runs. Here the
same work the controller adds per invoke runs in one thread, on and off alternating, and its
thread CPU time is compared with the unobserved controller's CPU per invoke: the seams the
controller runs (``ObservedEngine.place``: the decision series; ``Engine.why``: the
explanation, plus its JSON in the stored record; ``ActivationSeries.observe``: the record
series), on the real classes, with a fleet of ``invokers`` registered invokers.

A lower bound, not the hooks' cost: in this loop their code and data stay in the CPU's
caches, while a running controller runs each once per invoke among its other work (timed
there, ``Engine.why`` took about 3x its time here), and the explanation makes the stored
record larger, which the store pays for again. The whole controllers' paired comparison
(``_paired.py``) is the measure of the aim.
"""

from __future__ import annotations

import json
import time
from typing import Any

from edgewhisk_controller.observe import Metrics
from edgewhisk_controller.placement import Engine
from edgewhisk_controller.placement.config import PlacementConfig
from edgewhisk_controller.placement.interface import InvokerState, PlacementRequest

ROUNDS, PER_ROUND = 20, 500


def _engine(invokers: int) -> Engine:
    engine = Engine(PlacementConfig())
    for i in range(invokers):
        engine.register(InvokerState(id=f"local{i}", kinds=frozenset({"python:3"}),
                                     memory_mb=2048, free_memory_mb=2048 - 64 * (i % 7),
                                     in_flight=i % 3))
    return engine


def _record(invoker: str, why: dict[str, Any] | None) -> dict[str, Any]:
    annotations: list[dict[str, Any]] = [
        {"key": "path", "value": "guest/noop"}, {"key": "kind", "value": "python:3"},
        {"key": "invoker", "value": invoker}]
    if why is not None:
        annotations.append({"key": "placement", "value": why})
    return {"namespace": "guest", "name": "noop", "activationId": "0" * 32, "start": 1,
            "end": 2, "duration": 1, "response": {"statusCode": 0, "result": {}},
            "annotations": annotations}


def measure(invokers: int) -> dict[str, float]:
    """Thread CPU µs per invoke of the controller's per-invoke placement and record work,
    without hooks (``off``) and with them (``on``), and the explanation's size in bytes."""
    metrics = Metrics()
    plain = _engine(invokers)
    observed = metrics.engine(_engine(invokers))
    request = PlacementRequest(action="guest/noop", kind="python:3", memory_mb=256,
                               namespace="guest", version="0.0.1")
    spent = {"off": 0, "on": 0}
    size = 0
    for _ in range(ROUNDS):
        start = time.thread_time_ns()
        for _ in range(PER_ROUND):
            chosen = plain.place(request)
            json.dumps(_record(str(chosen), None))
        spent["off"] += time.thread_time_ns() - start
        start = time.thread_time_ns()
        for _ in range(PER_ROUND):
            chosen = observed.place(request)
            why = observed.why(request, str(chosen))
            text = json.dumps(record := _record(str(chosen), why))
            metrics.activations.observe(record)
        spent["on"] += time.thread_time_ns() - start
        size = len(json.dumps(why))
    calls = ROUNDS * PER_ROUND
    return {"off": spent["off"] / calls / 1000, "on": spent["on"] / calls / 1000,
            "bytes": float(size), "record": float(len(text))}


def table(cpu_off_ms: float, fleets: tuple[int, ...] = (1, 100)) -> str:
    """The hooks' CPU per invoke against ``cpu_off_ms``, the unobserved controller's."""
    rows = [f"{'invokers':>8} {'work off µs':>11} {'work on µs':>10} {'hooks µs':>9} "
            f"{'why bytes':>9} {'of CPU/inv':>10}"]
    for invokers in fleets:
        m = measure(invokers)
        hooks = m["on"] - m["off"]
        rows.append(f"{invokers:>8} {m['off']:>11.1f} {m['on']:>10.1f} {hooks:>9.1f} "
                    f"{m['bytes']:>9.0f} {hooks / (cpu_off_ms * 1000) * 100:>9.2f}%")
    return "\n".join(rows)
