"""Metrics stage: times every activation, leaving the result unchanged.

Why a stage of its own: later issues report run time to the controller (activation record,
placement's run-time estimates); today the timing is put on the activation (``run_ms``) and
kept in a small :class:`Recorder` that the proxy exposes as a response header and in memory.
"""

from __future__ import annotations

import time
from collections import deque

from edgewhisk_runtime.activation import Activation, Handler, Result


class Recorder:
    """The last ``size`` activation durations (milliseconds) and a running count."""

    def __init__(self, size: int = 1024) -> None:
        self.durations: deque[float] = deque(maxlen=size)
        self.count = 0

    def record(self, run_ms: float) -> None:
        self.durations.append(run_ms)
        self.count += 1

    def percentile(self, q: float) -> float | None:
        if not self.durations:
            return None
        ordered = sorted(self.durations)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


class MetricsMiddleware:
    NAME = "metrics"

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    async def __call__(self, activation: Activation, call_next: Handler) -> Result:
        start = time.perf_counter()
        try:
            return await call_next(activation)
        finally:
            run_ms = (time.perf_counter() - start) * 1000
            activation.metrics["run_ms"] = run_ms
            self.recorder.record(run_ms)
