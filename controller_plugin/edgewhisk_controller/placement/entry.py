"""What the engine caches per placement key: an ``Entry``, its dynamic ``Step``s and ``Span``s.

Why apart from ``cache``: the cache is about keeping entries in step with the state; this
module is only the shape of what it keeps.

An entry keeps two vectors over its rows: ``static`` (the weighted static scores, -inf where
a static hard filter excludes the row) and ``total`` (static plus every dynamic step), which
the cache keeps in sync with the state: after a few events it re-scores only the rows they
touched (``seen``: how far it has read ``ClusterState.changed``), and a changed static
attribute of one invoker patches that row (``restated``: how far it has read
``ClusterState.restated``). Placing is then one ``argmax`` over ``total``.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .constraints import Constraint
from .plugin import Context, Filter, Plugin, Score
from .state import Rows, Vector


def _not_made(row: int, at: int) -> Any:
    raise AssertionError("a step's row function is made by EntryCache.sync")


@dataclass
class Step:
    """One dynamic constraint of an entry, ready to run (``lo``/``scale`` map raw to weighted
    0-100: ``(raw - lo) * scale``)."""

    plugin: Plugin[Any]
    ctx: Context[Any]
    hard: bool
    weight: float
    lo: float = 0.0
    scale: float = 0.0
    row: Callable[[int, int], Any] = _not_made
    # ^ the plugin's per-row filter or score, made when the cache recomputes the entry


@dataclass
class Span:
    """A static min-max score of an entry: its raw values over the entry's rows and the
    range it was normalised with. A patched row that moves the range (over the candidates)
    changes every row's share, so the entry is rebuilt then."""

    plugin: Score[Any]
    constraint: Constraint
    raw: Vector  # float64 over the entry's rows
    lo: float
    hi: float


@dataclass
class Entry:
    version: int  # ClusterState.static_version it was built at
    rows: Rows | None  # None: every row of the state
    static: Vector  # float32 over the entry's rows: weighted static score, -inf excluded
    steps: list[Step]  # the dynamic constraints, hard ones first
    constraints: tuple[Constraint, ...]
    action: str
    total: Vector  # float32: static + dynamic, as of ``seen``
    seen: int = -1  # ClusterState.changed.seq that ``total`` reflects (-1: none yet)
    restated: int = 0  # ClusterState.restated.seq that ``static`` reflects
    depends: tuple[Hashable, ...] = ()  # the watched steps' ``depends`` ``total`` reflects
    shared: int = -1  # ClusterState.shared_version ``depends`` was last checked at
    watch: list[Step] = field(default_factory=list)  # steps whose plugin is ``Shared``
    filters: list[tuple[Filter[Any], Constraint]] = field(default_factory=list)  # static hard
    scores: list[tuple[Score[Any], Constraint]] = field(default_factory=list)  # static, BOUNDS
    spans: list[Span] = field(default_factory=list)  # static, min-max
    minmax: list[tuple[Vector, float]] = field(default_factory=list)  # see EntryCache.build
    row_list: array[int] | None = None  # ``rows`` for ``bisect`` (None with ``rows``)
    excluded: tuple[float, dict[str, int]] | None = None  # Engine.why: (monotonic s, counts)
    why_static: tuple[int, dict[int, dict[str, float]]] | None = None
    # ^ Engine.why: (``restated`` they reflect, each explained row's static bounded terms)
    said: dict[tuple[Any, ...], dict[str, Any]] = field(default_factory=dict)
    # ^ Engine.why: the explanations built from this entry, by every number they are made of

    @property
    def nbytes(self) -> int:
        held = [self.static, self.total, *(s.raw for s in self.spans),
                *(s.ctx.prepared for s in self.steps if isinstance(s.ctx.prepared, np.ndarray))]
        if self.rows is not None:
            held.append(self.rows)
        listed = 0 if self.row_list is None else self.row_list.itemsize * len(self.row_list)
        return sum(a.nbytes for a in held) + listed
