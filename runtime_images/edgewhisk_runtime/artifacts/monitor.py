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

import base64
import itertools
import math
import operator
import sys
from array import array
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
    sizes: tuple[int, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "shares", tuple(tuple(_shares(c)) for c in self.counts))
        object.__setattr__(self, "sizes", tuple(len(c) for c in self.counts))

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


class Summary:
    """What one activation's forward passes through one model saw: ``rows`` inputs, the sum
    of their rescaled top-class confidences, and per feature the rows per reference bin
    (``counts``, None without a reference).

    Kept flat (``sizes``: the bins per feature; ``flat``: every feature's counts in turn, as
    unsigned 32-bit integers): a window holds up to ``limit`` of these, and it adds and
    removes them with one pass over the cells, not one object per count."""

    __slots__ = ("rows", "confidence", "sizes", "flat")

    def __init__(self, rows: int, confidence: float,
                 counts: Sequence[Sequence[int]] | None = None) -> None:
        self.rows = rows
        self.confidence = confidence
        self.sizes: tuple[int, ...] | None = None
        self.flat: array[int] | None = None
        if counts is not None:
            self.sizes = tuple(len(row) for row in counts)
            self.flat = array("I", [int(c) for row in counts for c in row])

    @property
    def counts(self) -> tuple[tuple[int, ...], ...] | None:
        """The counts per feature (for reading; the window works on ``flat``)."""
        if self.sizes is None or self.flat is None:
            return None
        starts = _starts(self.sizes)
        return tuple(tuple(self.flat[a:b]) for a, b in zip(starts, starts[1:], strict=False))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Summary):
            return NotImplemented
        return (self.rows, self.confidence, self.sizes, self.flat) == (
            other.rows, other.confidence, other.sizes, other.flat)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Summary(rows={self.rows}, confidence={self.confidence}, counts={self.counts})"

    @classmethod
    def parse(cls, doc: Any) -> Summary | None:
        """A summary as the action process sends it (``counts``: the packed bytes of
        ``instrument.Bins.packed`` with their ``sizes``) or as lists per feature; None for
        anything else."""
        if not isinstance(doc, Mapping):
            return None
        try:
            counts = doc.get("counts")
            if not isinstance(counts, str):
                return cls(int(doc["rows"]), float(doc["confidence"]),
                           None if counts is None else
                           tuple(tuple(map(int, row)) for row in counts))
            summary = cls(int(doc["rows"]), float(doc["confidence"]))
            flat = array("I", base64.b64decode(counts, validate=True))
            sizes = tuple(int(n) for n in doc["sizes"])
        except (KeyError, TypeError, ValueError, OverflowError):
            return None
        if sum(sizes) != len(flat) or min(sizes, default=0) < 1:
            return None
        if sys.byteorder == "big":
            flat.byteswap()
        summary.sizes, summary.flat = sizes, flat
        return summary


def _starts(sizes: Sequence[int]) -> list[int]:
    """Where each feature's bins start in a flat count list, and where the last ends."""
    return [0, *itertools.accumulate(sizes)]


@dataclass
class Window:
    """The last ``limit`` rows a model version served on one binding, as activation summaries.

    ``full`` once it has held ``limit`` rows: a drift gate fires only then, so a handful of
    rows never decides. Sums are kept as summaries arrive and leave (O(features x bins)),
    flat (``totals``, split by ``sizes``)."""

    limit: int
    parts: deque[Summary] = field(default_factory=deque)
    rows: int = 0
    confidence_sum: float = 0.0
    sizes: tuple[int, ...] | None = None
    totals: list[int] | None = None
    psi_terms: PsiTerms | None = field(default=None, compare=False, repr=False)

    def add(self, summary: Summary) -> None:
        if summary.rows <= 0:
            return
        if summary.sizes is not None and self.sizes is not None and \
                summary.sizes != self.sizes:
            self.clear()  # another reference (a new version at the same key): start again
        self.parts.append(summary)
        self._apply(summary, 1)
        while len(self.parts) > 1 and self.rows - self.parts[0].rows >= self.limit:
            self._apply(self.parts.popleft(), -1)

    def clear(self) -> None:
        self.parts.clear()
        self.rows, self.confidence_sum, self.sizes, self.totals = 0, 0.0, None, None
        self.psi_terms = None

    def _apply(self, summary: Summary, sign: int) -> None:
        self.rows += sign * summary.rows
        self.confidence_sum += sign * summary.confidence
        if summary.flat is None:
            return
        if self.totals is None:
            self.sizes, self.totals = summary.sizes, [0] * len(summary.flat)
        step = operator.add if sign > 0 else operator.sub
        self.totals = list(map(step, self.totals, summary.flat))

    @property
    def counts(self) -> list[list[int]] | None:
        """The window's rows per feature bin, one list per feature."""
        if self.sizes is None or self.totals is None:
            return None
        starts = _starts(self.sizes)
        return [self.totals[a:b] for a, b in zip(starts, starts[1:], strict=False)]

    @property
    def full(self) -> bool:
        return self.rows >= self.limit

    def memory_bytes(self) -> int:
        """What the window holds, as Python counts it (the benchmark reports it)."""
        size = sys.getsizeof(self.parts) + sum(_summary_bytes(s) for s in self.parts)
        if self.totals is not None:
            size += sys.getsizeof(self.totals)
        if self.psi_terms is not None:
            size += self.psi_terms.memory_bytes()
        return size


def _summary_bytes(summary: Summary) -> int:
    size = sys.getsizeof(summary)
    if summary.flat is not None:
        size += sys.getsizeof(summary.flat)
    return size


def confidence(window: Window) -> float | None:
    """The mean rescaled top-class confidence of the window's rows (None when empty)."""
    return window.confidence_sum / window.rows if window.rows else None


def _shares(counts: Sequence[int]) -> list[float]:
    total = sum(counts)
    return [max(c / total, FLOOR) if total else FLOOR for c in counts]


@dataclass
class PsiTerms:
    """A window's PSI terms (one per feature bin) against one reference, as last computed.

    Why: PSI runs after every /run of a watched model, and a term costs a logarithm. Between
    two /runs a window whose rows per feature stay the same (a full window taking in and
    letting go activations of equal size) changes only the bins those activations' rows fell
    in, so only those terms are computed again; any other change recomputes the feature."""

    reference: Reference
    counts: list[int]
    sums: list[int]
    terms: list[float]

    @classmethod
    def of(cls, window: Window, reference: Reference) -> PsiTerms:
        cached = window.psi_terms
        if cached is None or cached.reference is not reference:
            cells = sum(reference.sizes)
            cached = window.psi_terms = cls(reference, [-1] * cells, [-1] * len(reference.sizes),
                                            [0.0] * cells)
        return cached

    def update(self, totals: list[int]) -> list[float]:
        """Each feature's PSI for the window's ``totals``, recomputing the terms that moved."""
        scores, start = [], 0
        shares, counts, terms = self.reference.shares, self.counts, self.terms
        for j, size in enumerate(self.reference.sizes):
            stop = start + size
            total = sum(totals[start:stop])
            if total != self.sums[j]:
                self.sums[j] = total
                moved: Any = range(start, stop)
            else:
                moved = [i for i in range(start, stop) if totals[i] != counts[i]]
            for i in moved:
                counts[i] = totals[i]
                terms[i] = _psi_term(totals[i], total, shares[j][i - start]) if total else 0.0
            scores.append(sum(terms[start:stop]) if total else 0.0)
            start = stop
        return scores

    def memory_bytes(self) -> int:
        return sum(sys.getsizeof(x) for x in (self, self.counts, self.sums, self.terms))


def psi(window: Window, reference: Reference) -> tuple[float, str] | None:
    """The largest population stability index of any feature, and that feature:
    sum over bins of (p - q) ln(p / q), p the window's shares, q the training rows'."""
    totals = window.totals
    if totals is None or window.sizes != reference.sizes:
        return None
    return _highest(PsiTerms.of(window, reference).update(totals), reference.features)


def ks(window: Window, reference: Reference) -> tuple[float, str] | None:
    """The largest Kolmogorov-Smirnov distance of any feature (between the binned
    cumulative distributions of the window and of the training rows), and that feature."""
    return _worst(window, reference.counts, reference, _ks)


def _psi_term(count: int, total: int, expected: float) -> float:
    """One bin's PSI term: the window's share ``count / total`` (at least ``FLOOR``) against
    the reference's share ``expected``."""
    share = count / total
    if share < FLOOR:
        share = FLOOR
    return (share - expected) * math.log(share / expected)


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
    totals = window.totals
    if totals is None or window.sizes != reference.sizes:
        return None
    scores, start = [], 0
    for size, column in zip(reference.sizes, columns, strict=True):
        scores.append(score(totals[start:start + size], column))
        start += size
    return _highest(scores, reference.features)


def _highest(scores: Sequence[float], features: Sequence[str]) -> tuple[float, str] | None:
    """The highest score and its feature (the first such feature on a tie)."""
    best: tuple[float, str] | None = None
    for value, name in zip(scores, features, strict=True):
        if best is None or value > best[0]:
            best = (value, name)
    return best


def disparate_impact(groups: Mapping[str, Sequence[int]]) -> float:
    """min / max positive rate over the groups with rows (``{group: [positives, rows]}``);
    1.0 when nobody is positive; a ``ValueError`` with fewer than two groups."""
    rates = [pos / n for pos, n in groups.values() if n > 0]
    if len(rates) < 2:
        raise ValueError(f"the evaluation data has {len(rates)} group(s) with rows; the ratio "
                         "compares at least two")
    return 1.0 if max(rates) == 0 else min(rates) / max(rates)
