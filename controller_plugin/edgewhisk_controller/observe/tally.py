"""Counts and histograms kept in plain Python numbers, turned into series at scrape time.

Why not prometheus_client's ``Counter``/``Histogram`` on the per-invoke seams: each ``inc``
and ``observe`` takes a lock and walks the library's value objects (0.4-0.7 µs a call, several
per invoke), and issue 17 asks the hooks to cost under 5 % of an invoke. The controller
records from its one event loop thread, so an ``int`` (or a bucket list) is enough; the
registry's collector reads them when Prometheus scrapes, with the same names, labels and
buckets the library's classes would expose (without their ``_created`` samples).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence

from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.utils import floatToGoString


class Tally:
    """One histogram's buckets (``le`` bounds, the last one +Inf), sum and count."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1  # the first bound >= value: its le
        self.sum += value

    def buckets(self) -> list[tuple[str, float]]:
        """Cumulative ``(le, count)`` pairs, as the text format wants them."""
        out: list[tuple[str, float]] = []
        seen = 0
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            seen += count
            out.append((floatToGoString(bound), seen))
        return out


def counter(name: str, doc: str, labels: Sequence[str],
            counts: Mapping[tuple[str, ...], int]) -> CounterMetricFamily:
    """``counts`` (by label values) as a counter family (``name`` + ``_total``)."""
    family = CounterMetricFamily(name, doc, labels=list(labels))
    for values, count in counts.items():
        family.add_metric(list(values), count)
    return family


def histogram(name: str, doc: str, labels: Sequence[str],
              tallies: Iterable[tuple[tuple[str, ...], Tally]]) -> HistogramMetricFamily:
    """``tallies`` (by label values) as a histogram family."""
    family = HistogramMetricFamily(name, doc, labels=list(labels))
    for values, tally in tallies:
        family.add_metric(list(values), tally.buckets(), sum_value=tally.sum)
    return family
