"""The statistics a gate compares, from what the instrumented model observed (pure Python).

Why pure Python: these run in the proxy after every /run of a gated action, over a few
histograms (features x bins); importing numpy into the proxy would cost it more memory and
start-up than the arithmetic does. The counting itself (numpy, on the model's inputs and
outputs) happens in the action process (``instrument.py``), which sends one small
:class:`Summary` per consumed model and activation.

- :class:`Window`: the sliding window of a drift gate, the last ``limit`` rows of one model
  version on one binding, kept as whole activation summaries (the oldest leave while the rest
  still hold ``limit`` rows);
- :func:`confidence`, :func:`psi`, :func:`ks`: the drift scores of a window against the
  model's training reference (feature histograms, :class:`Reference`);
- :func:`disparate_impact`: a bias gate's ratio from positive counts per group.
"""

from __future__ import annotations

import math
import operator
import sys
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

FLOOR = 1e-4
"""A bin's share below this counts as this (PSI's logarithm needs no empty bins)."""


@dataclass(frozen=True)
class Reference:
    """A model's training reference: per feature, the inner bin edges and the training rows'
    counts per bin (``len(edges[j]) + 1`` bins; a value v falls in the first bin whose upper
    edge is >= v). ``features``: their names (the produced model's ``input`` metadata, else
    ``0``, ``1``...)."""

    features: tuple[str, ...]
    edges: tuple[tuple[float, ...], ...]
    counts: tuple[tuple[int, ...], ...]
    rows: int
    shares: tuple[tuple[float, ...], ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "shares", tuple(tuple(_shares(c)) for c in self.counts))

    @classmethod
    def parse(cls, doc: Any) -> Reference | None:
        """The reference a model's metadata carries (``training_reference``), or None when
        it carries none or a malformed one."""
        if not isinstance(doc, Mapping):
            return None
        try:
            edges = tuple(tuple(float(e) for e in row) for row in doc["edges"])
            counts = tuple(tuple(int(c) for c in row) for row in doc["counts"])
            features = tuple(str(f) for f in doc["features"])
            rows = int(doc["rows"])
        except (KeyError, TypeError, ValueError):
            return None
        if not (len(edges) == len(counts) == len(features)) or any(
                len(c) != len(e) + 1 for e, c in zip(edges, counts, strict=True)):
            return None
        return cls(features, edges, counts, rows)


@dataclass(frozen=True)
class Summary:
    """What one activation's forward passes through one model saw: ``rows`` inputs, the sum
    of their rescaled top-class confidences, and per feature the rows per reference bin
    (None without a reference)."""

    rows: int
    confidence: float
    counts: tuple[tuple[int, ...], ...] | None = None

    @classmethod
    def parse(cls, doc: Any) -> Summary | None:
        if not isinstance(doc, Mapping):
            return None
        try:
            counts = doc.get("counts")
            return cls(int(doc["rows"]), float(doc["confidence"]),
                       None if counts is None else tuple(tuple(map(int, row))
                                                         for row in counts))
        except (KeyError, TypeError, ValueError):
            return None


@dataclass
class Window:
    """The last ``limit`` rows a model version served on one binding, as activation summaries.

    ``full`` once it has held ``limit`` rows: a drift gate fires only then, so a handful of
    rows never decides. Sums are kept as summaries arrive and leave (O(features x bins))."""

    limit: int
    parts: deque[Summary] = field(default_factory=deque)
    rows: int = 0
    confidence_sum: float = 0.0
    counts: list[list[int]] | None = None

    def add(self, summary: Summary) -> None:
        if summary.rows <= 0:
            return
        if summary.counts is not None and self.counts is not None and (
                [len(r) for r in summary.counts] != [len(r) for r in self.counts]):
            self.clear()  # another reference (a new version at the same key): start again
        self.parts.append(summary)
        self._apply(summary, 1)
        while len(self.parts) > 1 and self.rows - self.parts[0].rows >= self.limit:
            self._apply(self.parts.popleft(), -1)

    def clear(self) -> None:
        self.parts.clear()
        self.rows, self.confidence_sum, self.counts = 0, 0.0, None

    def _apply(self, summary: Summary, sign: int) -> None:
        self.rows += sign * summary.rows
        self.confidence_sum += sign * summary.confidence
        if summary.counts is None:
            return
        if self.counts is None:
            self.counts = [[0] * len(row) for row in summary.counts]
        step = operator.add if sign > 0 else operator.sub
        self.counts = [list(map(step, total, row))
                       for total, row in zip(self.counts, summary.counts, strict=True)]

    @property
    def full(self) -> bool:
        return self.rows >= self.limit

    def memory_bytes(self) -> int:
        """What the window holds, as Python counts it (the benchmark reports it)."""
        size = sys.getsizeof(self.parts) + sum(_summary_bytes(s) for s in self.parts)
        if self.counts is not None:
            size += sys.getsizeof(self.counts) + sum(sys.getsizeof(r) for r in self.counts)
        return size


def _summary_bytes(summary: Summary) -> int:
    size = sys.getsizeof(summary)
    if summary.counts is not None:
        size += sys.getsizeof(summary.counts) + sum(sys.getsizeof(r) for r in summary.counts)
    return size


def confidence(window: Window) -> float | None:
    """The mean rescaled top-class confidence of the window's rows (None when empty)."""
    return window.confidence_sum / window.rows if window.rows else None


def _shares(counts: Sequence[int]) -> list[float]:
    total = sum(counts)
    return [max(c / total, FLOOR) if total else FLOOR for c in counts]


def psi(window: Window, reference: Reference) -> tuple[float, str] | None:
    """The largest population stability index of any feature, and that feature:
    sum over bins of (p - q) ln(p / q), p the window's shares, q the training rows'."""
    return _worst(window, reference.shares, reference, _psi)


def ks(window: Window, reference: Reference) -> tuple[float, str] | None:
    """The largest Kolmogorov-Smirnov distance of any feature (between the binned
    cumulative distributions of the window and of the training rows), and that feature."""
    return _worst(window, reference.counts, reference, _ks)


def _psi(p: Sequence[int], q: Sequence[float]) -> float:
    """PSI of window counts ``p`` against reference shares ``q`` (a plain loop: this runs
    after every /run of a watched model)."""
    total = sum(p)
    if not total:
        return 0.0
    score, log = 0.0, math.log
    for count, expected in zip(p, q, strict=True):
        share = count / total
        if share < FLOOR:
            share = FLOOR
        score += (share - expected) * log(share / expected)
    return score


def _ks(p: Sequence[int], q: Sequence[int]) -> float:
    """KS distance between window counts ``p`` and reference counts ``q``."""
    n, m = sum(p) or 1, sum(q) or 1
    worst = cp = cq = 0.0
    for a, b in zip(p, q, strict=True):
        cp, cq = cp + a / n, cq + b / m
        worst = max(worst, abs(cp - cq))
    return worst


def _worst(window: Window, columns: Sequence[Sequence[Any]], reference: Reference,
           score: Any) -> tuple[float, str] | None:
    """The feature ``score(window column, reference column)`` is highest for, and its score."""
    counts = window.counts
    if counts is None or [len(c) for c in counts] != [len(c) for c in reference.counts]:
        return None
    scores = [(score(p, q), name) for p, q, name in
              zip(counts, columns, reference.features, strict=True)]
    return max(scores, key=lambda item: item[0]) if scores else None


def disparate_impact(groups: Mapping[str, Sequence[int]]) -> float:
    """min / max positive rate over the groups with rows (``{group: [positives, rows]}``);
    1.0 when nobody is positive; a ``ValueError`` with fewer than two groups."""
    rates = [pos / n for pos, n in groups.values() if n > 0]
    if len(rates) < 2:
        raise ValueError(f"the evaluation data has {len(rates)} group(s) with rows; the ratio "
                         "compares at least two")
    return 1.0 if max(rates) == 0 else min(rates) / max(rates)
