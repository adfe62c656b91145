"""The demo's tables: what each step did, and how the controller ran each activation (the
artifact tables' rows live in ``demo_artifacts.py``).

Plain text, columns as wide as their widest cell, one line per row (a too-wide one wrapped,
its continuation lines indented), so that the output reads in a terminal and greps in a test
(the step is always the first word of a row).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields
from typing import Any


@dataclass
class Row:
    """One step's outcome: where its artifact went, accuracy, the answer, the time."""

    step: str
    user: str = "-"
    artifact: str = "-"
    format: str = "-"
    size: str = "-"
    accuracy: str = "-"
    result: str = ""
    time: str = "-"


@dataclass
class ActivationRow:
    """One activation as recorded: its id, the ``invoker`` annotation, ``waitTime``,
    ``initTime`` (only on a cold start), ``duration`` and the client's round trip."""

    step: str
    user: str
    activation: str
    invoker: str
    start: str  # "cold" or "warm"
    wait: str
    init: str
    duration: str
    round_trip: str


def render(rows: Sequence[Any], width: int | None = None) -> str:
    """A plain-text table of dataclass rows (all of one class), headed by their field names.

    A table wider than ``width`` (if given) has its widest column wrapped onto continuation
    lines (their other cells blank), so that it reads in a 120-column terminal; a row's first
    line still starts with its step.
    """
    if not rows:
        return ""
    headers = tuple(f.name.replace("_", " ") for f in fields(rows[0]))
    cells: list[tuple[str, ...]] = [headers, *(tuple(map(str, astuple(r))) for r in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(headers))]
    if width and len(widths) > 1 and sum(widths) + 2 * (len(widths) - 1) > width:
        wide = max(range(1, len(widths)), key=widths.__getitem__)  # the step stays whole
        room = width - (sum(widths) - widths[wide]) - 2 * (len(widths) - 1)
        if room >= 20:
            widths[wide] = room
            cells = [part for line in cells for part in _wrapped(line, wide, room)]

    def fmt(line: tuple[str, ...]) -> str:
        return "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(cells[0]), rule, *(fmt(line) for line in cells[1:])])


def _wrapped(line: tuple[str, ...], column: int, room: int) -> list[tuple[str, ...]]:
    """``line``, then one continuation line per further piece of its ``column`` cell."""
    pieces = textwrap.wrap(line[column], room) or [""]
    blank = ("",) * len(line)
    return [line[:column] + (pieces[0],) + line[column + 1:],
            *(blank[:column] + (piece,) + blank[column + 1:] for piece in pieces[1:])]


def size(n: int) -> str:
    return f"{n / 1024:.1f} KiB" if n >= 1024 else f"{n} B"


def ms(value: object) -> str:
    """An annotation's milliseconds ('-' when absent, e.g. initTime of a warm start)."""
    return f"{value} ms" if isinstance(value, int) else "-"
