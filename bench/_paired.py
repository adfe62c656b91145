"""Paired chunks: how much more CPU per invoke side A costs than side B, with an interval.

Why: on a shared 2-core machine two controller processes' CPU per invoke drifts by more than
the differences the benchmarks look for (5 %, issue 17), so one ratio of two totals is a
noisy number with no way to tell it from noise. The benchmark runs both sides in the same
chunk, next to each other, the order reversed every other chunk (ABBA), so each chunk is one
paired observation that shares the machine's state of that moment; the estimate is the
ratio of the summed CPU of both sides (CPU per invoke on / off - 1), and its 95 % interval a
percentile bootstrap over the chunks (resampling whole pairs keeps what they share). The
interval says whether an aim is met (its upper end below the aim), missed (its lower end
above), or not shown either way (it straddles the aim).

:func:`plan` is the one ABBA order of the benchmarks: :func:`chunked` runs callables in it
(the controller bench's sides, the floor's parts, ``scale.py``'s clusters under the Python
clients and under wrk), and the benchmarks that run their sides themselves iterate it (the
tunnel's saturation halves, ``gates.py``'s and ``runtime.py``'s calls in turn).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

T = TypeVar("T")

RESAMPLES = 10_000
LEVEL = 0.95


def plan(names: Sequence[str], calls: int,
         size: int) -> Iterator[tuple[int, list[tuple[str, int]]]]:
    """The chunks of ``calls`` calls of every side in ``names``, ``size`` a chunk (the last one
    smaller if need be), each as the calls made by its end and its runs in order: every side
    once, ``(name, calls)``, the order of ``names`` reversed every other chunk (ABBA). For a
    caller that runs the sides itself (an async one); :func:`chunked` runs callables.
    ``ValueError`` for no side, no call or a chunk of no call."""
    if not names or calls < 1 or size < 1:
        raise ValueError(f"chunks of {size} of {calls} call(s) of {len(names)} side(s): "
                         "each needs at least one")
    made = 0
    while made < calls:
        n = min(size, calls - made)
        order = names if made // size % 2 == 0 else names[::-1]
        made += n
        yield made, [(name, n) for name in order]


def chunked(sides: Mapping[str, Callable[[int], T]], calls: int, size: int,
            done: Callable[[int], None] | None = None) -> dict[str, list[T]]:
    """Every side's ``calls`` in the chunks of :func:`plan`, each side's ``run(n)`` called
    with its calls in the chunk, then ``done`` told the calls made so far. Returns what each
    side's runs returned, a sample per chunk, in chunk order."""
    samples: dict[str, list[T]] = {name: [] for name in sides}
    for made, runs in plan(list(sides), calls, size):
        for name, n in runs:
            samples[name].append(sides[name](n))
        if done is not None:
            done(made)
    return samples


@dataclass(frozen=True)
class Chunk:
    """One side's share of one chunk: the CPU seconds it cost and the invokes it made."""

    cpu_s: float
    calls: int


@dataclass(frozen=True)
class Cost:
    """Side A's extra CPU per invoke over side B's, in percent, and its interval."""

    percent: float
    low: float
    high: float
    chunks: int

    def verdict(self, aim: float) -> str:
        """``met``, ``missed`` or ``not shown`` against an aim in percent."""
        if self.high < aim:
            return "met"
        return "missed" if self.low > aim else "not shown"

    def interval(self) -> str:
        """``+3.1 % [+1.2, +5.0]``: the estimate and its 95 % interval."""
        return f"{self.percent:+.1f} % [{self.low:+.1f}, {self.high:+.1f}]"


def cost(a: Sequence[Chunk], b: Sequence[Chunk], *, seed: int = 17) -> Cost:
    """Side A's CPU per invoke over side B's (``a[i]`` and ``b[i]`` ran in the same chunk),
    as a percentage with its bootstrap 95 % interval; ``ValueError`` for unpaired or empty
    chunks (at least two are needed for an interval)."""
    if len(a) != len(b):
        raise ValueError(f"paired chunks: {len(a)} of side A against {len(b)} of side B")
    if len(a) < 2:
        raise ValueError(f"paired chunks: {len(a)} chunk(s), an interval needs at least 2")
    if any(chunk.calls < 1 for chunk in (*a, *b)):
        raise ValueError("paired chunks: a chunk without invokes has no CPU per invoke")
    cpu = np.array([[x.cpu_s, y.cpu_s] for x, y in zip(a, b, strict=True)])
    calls = np.array([[x.calls, y.calls] for x, y in zip(a, b, strict=True)], dtype=float)
    picks = np.random.default_rng(seed).integers(0, len(a), size=(RESAMPLES, len(a)))
    sums_cpu, sums_calls = cpu[picks].sum(axis=1), calls[picks].sum(axis=1)
    ratios = (sums_cpu[:, 0] / sums_calls[:, 0]) / (sums_cpu[:, 1] / sums_calls[:, 1])
    low, high = np.quantile(ratios, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    whole = (cpu[:, 0].sum() / calls[:, 0].sum()) / (cpu[:, 1].sum() / calls[:, 1].sum())
    return Cost(float(whole - 1) * 100, float(low - 1) * 100, float(high - 1) * 100, len(a))
