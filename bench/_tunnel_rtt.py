"""The tunnel benchmark's round trips: a local and a tunnelled no-op invoked in alternating
blocks, with the controller's and the agent's CPU per invoke, quiet and under a stated load.

Why alternating blocks (ABBA, ``BLOCK`` calls each): on a shared machine the load drifts
within a minute, and two runs one after the other compare two different minutes; alternating
puts both sides in the same ones, and reversing the order every other block removes the bias
of going first (``bench/controller.py`` found ~5 % for the first side). Why blocks and not
single calls: each block's CPU is read from ``/proc`` around it, so it is charged to its side.

``Hogs``: the stated load, processes that each keep one core busy (a Python loop), started
before and stopped (by pid) after the loaded round trips.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from _cpu import cpu_seconds
from _paired import plan
from _report import pct, progress

BLOCK = 10
"""Calls per block of one side."""


@dataclass
class Side:
    """One action's round trips and the CPU its blocks cost each watched process."""

    action: str
    samples: list[float] = field(default_factory=list)
    cpu_s: dict[int, float] = field(default_factory=dict)  # pid -> seconds over its blocks
    elapsed_s: float = 0.0  # wall time of its blocks
    where: str = "?"

    def cpu_ms_per_call(self, pid: int, background: float = 0.0) -> float:
        """CPU of ``pid`` per call (ms), less ``background`` cores of work the process does
        whatever the calls (the fleet's heartbeats: a slower call would be charged more of
        them), over this side's blocks."""
        used = self.cpu_s.get(pid, 0.0) - background * self.elapsed_s
        return 1000 * max(0.0, used) / max(1, len(self.samples))

    def summary(self, pids: dict[str, int],
                background: dict[str, float] | None = None) -> dict[str, Any]:
        return {"p50": pct(self.samples, 50), "p99": pct(self.samples, 99),
                "where": self.where,
                "cpu_ms": {name: self.cpu_ms_per_call(pid, (background or {}).get(name, 0.0))
                           for name, pid in pids.items()}}


Invoke = Callable[[str], Awaitable[dict[str, Any]]]


async def interleaved(invoke: Invoke, where: Callable[[dict[str, Any]], str],
                      actions: tuple[str, str], calls: int, warmup: int,
                      pids: dict[str, int], label: str) -> dict[str, Side]:
    """``calls`` warm round trips of each of ``actions`` in alternating blocks (after
    ``warmup`` calls each, not counted); the CPU of every process in ``pids`` per block."""
    sides = {action: Side(action) for action in actions}
    for action in actions:
        for _ in range(warmup):
            sides[action].where = where(await invoke(action))
    blocks = -(-calls // BLOCK)
    for block, (_, order) in enumerate(plan(actions, calls, BLOCK)):
        for action, n in order:
            side = sides[action]
            before = {pid: cpu_seconds(pid) for pid in pids.values()}
            began = time.perf_counter()
            for _ in range(n):
                start = time.perf_counter()
                side.where = where(await invoke(action))
                side.samples.append((time.perf_counter() - start) * 1000)
            side.elapsed_s += time.perf_counter() - began
            for pid, used in before.items():
                side.cpu_s[pid] = side.cpu_s.get(pid, 0.0) + cpu_seconds(pid) - used
        progress(f"{label} round trips (both sides)", block + 1, blocks)
    return sides


@contextmanager
def hogs(count: int) -> Iterator[list[int]]:
    """``count`` processes spinning on a core each; their pids. Stopped by pid at the end."""
    children = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                for _ in range(count)]
    try:
        yield [child.pid for child in children]
    finally:
        for child in children:
            child.kill()
        for child in children:
            child.wait()


def ratios(sides: dict[str, Side], local: str, tunnel: str) -> dict[str, float]:
    """tunnel / local at p50 and p99."""
    return {q: pct(sides[tunnel].samples, n) / max(1e-9, pct(sides[local].samples, n))
            for q, n in (("p50", 50), ("p99", 99))}
