"""The console's two drawings, laid out here and drawn as inline SVG by the templates: an
artifact's lineage (what each version was made from) and the activations' timeline per invoker.

Why laid out on the server: the layout is a few lines of arithmetic over what the page
already read, and the page stays script-free (no graph library shipped to the browser);
the templates only turn these boxes and lines into SVG elements, escaped like any text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

BOX_W, BOX_H, COLUMN, ROW = 190, 26, 240, 38
LANE_H, TIMELINE_W, LABEL_W = 24, 760, 120
NO_INVOKER = "(no invoker)"
"""The lane of records that ran nowhere: trigger firings, refusals."""


@dataclass(frozen=True)
class Box:
    key: str
    x: int
    y: int
    current: bool  # a version of the artifact the page is about


@dataclass(frozen=True)
class Line:
    x1: int
    y1: int
    x2: int
    y2: int


@dataclass(frozen=True)
class Drawing:
    boxes: list[Box]
    lines: list[Line]
    width: int
    height: int


def lineage(edges: Iterable[tuple[str, str]], current: Iterable[str]) -> Drawing:
    """Boxes in columns by how many steps of making lead to each (inputs left of what was
    made from them) for ``edges`` (input key, made key); ``current``: the page's versions."""
    edges, current = sorted(set(edges)), set(current)
    nodes = sorted({k for edge in edges for k in edge} | current)
    made_from: dict[str, list[str]] = {k: [] for k in nodes}
    for source, made in edges:
        made_from[made].append(source)
    column: dict[str, int] = {}

    def depth(key: str, seen: frozenset[str] = frozenset()) -> int:
        if key not in column:  # a cycle cannot come from the registry; guard all the same
            sources = [s for s in made_from[key] if s not in seen]
            column[key] = 1 + max((depth(s, seen | {key}) for s in sources), default=-1)
        return column[key]

    rows: dict[int, int] = {}
    place: dict[str, tuple[int, int]] = {}
    for key in nodes:
        col = depth(key)
        place[key] = (col * COLUMN + 4, rows.get(col, 0) * ROW + 4)
        rows[col] = rows.get(col, 0) + 1
    boxes = [Box(k, *place[k], k in current) for k in nodes]
    lines = [Line(place[s][0] + BOX_W, place[s][1] + BOX_H // 2, place[m][0],
                  place[m][1] + BOX_H // 2) for s, m in edges]
    return Drawing(boxes, lines, (max(column.values(), default=0) + 1) * COLUMN,
                   max(rows.values(), default=1) * ROW + 8)


def inputs(lineage_field: Mapping[str, Any] | None) -> list[str]:
    """The keys a version's ``lineage`` names (``model``: a key or a list; ``data``: a list)."""
    found: list[str] = []
    for value in (lineage_field or {}).values():
        found.extend(value if isinstance(value, list) else [value])
    return [k for k in found if isinstance(k, str)]


@dataclass(frozen=True)
class Bar:
    activation_id: str
    name: str
    status: str
    x: float
    width: float


@dataclass(frozen=True)
class Lane:
    invoker: str
    y: int
    bars: list[Bar]


@dataclass(frozen=True)
class Timeline:
    lanes: list[Lane]
    span_ms: int
    width: int
    height: int


def timeline(rows: Sequence[Mapping[str, Any]]) -> Timeline:
    """One lane per invoker, one bar per activation from its start for its duration, over
    the time the rows span (at least a pixel wide, so a 0 ms activation still shows)."""
    timed = [r for r in rows if isinstance(r.get("start"), int)]
    if not timed:
        return Timeline([], 0, LABEL_W + TIMELINE_W, 0)
    first = min(r["start"] for r in timed)
    last = max(r["start"] + (r.get("duration") or 0) for r in timed)
    scale = TIMELINE_W / max(last - first, 1)
    lanes: dict[str, list[Bar]] = {}
    for r in timed:
        lanes.setdefault(r.get("invoker") or NO_INVOKER, []).append(Bar(
            str(r.get("activationId")), str(r.get("name")), str(r.get("status")),
            LABEL_W + (r["start"] - first) * scale,
            max((r.get("duration") or 0) * scale, 1.0)))
    drawn = [Lane(name, i * LANE_H, bars) for i, (name, bars) in enumerate(sorted(lanes.items()))]
    return Timeline(drawn, last - first, LABEL_W + TIMELINE_W, len(drawn) * LANE_H)
