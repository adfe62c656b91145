"""What every benchmark reports the same way: progress on stderr, and percentiles.

Imported by the benchmark scripts as ``from _report import ...``: ``bench/`` is on ``sys.path``
both when a script runs as ``python bench/NAME.py`` and under ``edgewhisk bench NAME``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def progress(label: str, done: int, total: int) -> None:
    """A progress line at every tenth of ``total`` (rewritten in place on a terminal)."""
    if done == total or done % max(1, total // 10) == 0:
        end = "\r" if sys.stderr.isatty() else "\n"
        print(f"  {label}: {done}/{total} ({100 * done // max(1, total)}%)", end=end,
              file=sys.stderr, flush=True)
        if done == total and end == "\r":
            print(file=sys.stderr, flush=True)


def pct(samples: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by nearest rank; 0.0 when there are no samples."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] if ordered else 0.0
