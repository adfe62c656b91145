"""How every ``edgewhisk`` command shows things to a person: tables, sizes, times, progress.

Why one module, and why here: the commands of the ``edgewhisk`` CLI and the edge agent's token
commands (which may not import the CLI package) print the same kinds of values; written once,
a size reads the same everywhere and a table fits the same 120 columns.

- Sizes use one reading of units, the one ``edgewhisk_runtime.artifacts.store.parse_size``
  parses: ``KB``/``MB``/``GB`` are powers of 10 (a GB is 10⁹ bytes), ``KiB``/``MiB``/``GiB``
  powers of 2. :func:`size` prints the decimal units, so what it prints parses back.
- Times are local wall-clock times to the second; durations are milliseconds below 10 s.
- :func:`table` pads columns to their widest cell and, past ``width`` columns, cuts the
  widest cells with ``…`` so no line is longer (machine-readable output is ``--json``).
- :func:`progress` is a tqdm bar on stderr, shown only when both stdout and stderr are
  terminals: in a pipe or a log nothing is written.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from tqdm import tqdm

from .artifacts import Progress

WIDTH = 120
GAP = "  "
ELLIPSIS = "…"
UNITS = ("B", "KB", "MB", "GB", "TB", "PB")


def size(n: int | None) -> str:
    """Bytes for people, decimal units: ``512 B``, ``1.5 KB``, ``23.4 MB`` ("-" for None)."""
    if n is None:
        return "-"
    value, unit = float(n), 0
    while abs(value) >= 1000 and unit < len(UNITS) - 1:
        value, unit = value / 1000, unit + 1
    return f"{int(value)} B" if unit == 0 else f"{value:.1f} {UNITS[unit]}"


def when(ms: int | float | None) -> str:
    """An epoch time in milliseconds as local ``YYYY-MM-DD HH:MM:SS`` ("-" for None)."""
    if ms is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms / 1000))


def duration(ms: int | float | None) -> str:
    """``42 ms``, ``12.3 s``, ``4m 05s`` ("-" for None)."""
    if ms is None:
        return "-"
    if ms < 10_000:
        return f"{ms:.0f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    minutes, seconds = divmod(int(ms // 1000), 60)
    return f"{minutes}m {seconds:02d}s"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], width: int = WIDTH) -> str:
    """Rows under their headers, columns padded; lines at most ``width`` characters."""
    cells = [[str(h) for h in headers], *([_cell(v) for v in row] for row in rows)]
    if any(len(line) != len(headers) for line in cells):
        raise ValueError("every row needs one cell per header")
    widths = _fit([max(len(line[i]) for line in cells) for i in range(len(headers))], width)
    return "\n".join(GAP.join(_cut(cell, w).ljust(w) for cell, w in zip(line, widths,
                                                                        strict=True)).rstrip()
                     for line in cells)


def _cell(value: Any) -> str:
    return "-" if value is None or value == "" else " ".join(str(value).split())


def _fit(widths: list[int], width: int) -> list[int]:
    """Narrow the widest columns, one character at a time, until the line fits."""
    widths = list(widths)
    while sum(widths) + len(GAP) * (len(widths) - 1) > width:
        widest = max(range(len(widths)), key=lambda i: widths[i])
        if widths[widest] <= 4:
            break  # nothing sensible left to cut
        widths[widest] -= 1
    return widths


def _cut(cell: str, width: int) -> str:
    return cell if len(cell) <= width else cell[:width - 1] + ELLIPSIS


def interactive() -> bool:
    """Whether a person is watching: both stdout and stderr are terminals."""
    return sys.stdout.isatty() and sys.stderr.isatty()


@contextmanager
def progress(description: str, total: int | None = None) -> Iterator[Progress]:
    """A byte-progress bar on stderr for the ``with`` block (silent when not interactive);
    yields the callback that moves it."""
    bar = tqdm(total=total, desc=description, unit="B", unit_scale=True, unit_divisor=1000,
               file=sys.stderr, disable=not interactive(), leave=True, dynamic_ncols=True)
    shown = [0]

    def moved(done: int, of: int) -> None:
        if of and bar.total != of:
            bar.total = of
        bar.update(done - shown[0])
        shown[0] = done

    try:
        yield moved
    finally:
        bar.close()
