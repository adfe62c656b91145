"""What every benchmark reports the same way: progress on stderr, percentiles, plots.

Imported by the benchmark scripts as ``from _report import ...``: ``bench/`` is on ``sys.path``
both when a script runs as ``python bench/NAME.py`` and under ``edgewhisk bench NAME``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "out"
"""Where the benchmarks write their plots (``bench/out/NAME.png``)."""


def outputs(parser: argparse.ArgumentParser, name: str, quick: str) -> None:
    """The options every benchmark's output takes: ``--quick`` (a smoke test: ``quick``),
    ``--json`` (the results as one JSON document) and ``--out`` (the plot,
    ``bench/out/NAME.png`` by default)."""
    parser.add_argument("--quick", action="store_true", help=f"a smoke test: {quick}")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--out", type=Path, default=OUT / f"{name}.png", help="plot file")


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


def table(columns: Sequence[tuple[str, int]], rows: Iterable[Sequence[str]]) -> str:
    """A fixed-width text table: the columns' names (``(name, width)``: right-aligned in
    ``width``, left-aligned when it is negative), a rule as long as that header, then ``rows``
    of cells already formatted, aligned the same; a row may stop short (a ratio row)."""
    def line(cells: Sequence[str]) -> str:
        return " ".join(f"{cell:<{-width}}" if width < 0 else f"{cell:>{width}}"
                        for cell, (_, width) in zip(cells, columns, strict=False))

    head = line([name for name, _ in columns])
    return "\n".join([head, "-" * len(head), *(line(row) for row in rows)])


def failed(name: str, exc: BaseException, folder: Path, logs: Sequence[str]) -> int:
    """Say the benchmark failed and show the tail of each of its logs; exit status 1."""
    print(f"{name} bench failed: {exc!r}", file=sys.stderr)
    for log in logs:
        text = (folder / log).read_text() if (folder / log).exists() else ""
        print(f"--- {log} (tail) ---\n{text[-2000:]}", file=sys.stderr)
    return 1


def cdf(ax: Any, samples: Sequence[float], **style: Any) -> None:
    """Plot ``samples`` as their empirical distribution: the fraction of calls at or under each
    value, the curve every latency plot of the benchmarks draws."""
    ordered = sorted(samples)
    ax.plot(ordered, [(i + 1) / len(ordered) for i in range(len(ordered))], **style)


def cdf_axes(ax: Any, xlabel: str, title: str, *, ylabel: bool = True,
             legend_size: float | None = None) -> None:
    """Lay out an axis of ``cdf`` curves as every benchmark does (latency on a log scale, the
    fraction of calls, a legend and a light grid), so the plots read alike."""
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel("fraction of calls")
    ax.set_title(title)
    ax.legend(fontsize=legend_size)
    ax.grid(True, alpha=0.3)


def save(fig: Any, path: Path) -> None:
    """Write a matplotlib figure to ``path`` (its folder made) and free it."""
    import matplotlib.pyplot as plt  # only benchmarks that plot pay for the import

    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def report(results: dict[str, Any], out: Path, as_json: bool,
           plot: Callable[[dict[str, Any], Path], None],
           table: Callable[[dict[str, Any]], str]) -> int:
    """Write the plot, then print the table (or the JSON without the raw samples)."""
    plot(results, out)
    results["plot"] = str(out)
    if as_json:
        print(json.dumps({k: v for k, v in results.items() if k != "samples"}, indent=2))
    else:
        print(table(results))
        print(f"\nplot: {out}")
    return 0
