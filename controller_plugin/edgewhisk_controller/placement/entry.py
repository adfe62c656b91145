"""What the engine caches per placement key, and what it accepts as a bound action.

Why apart from ``framework``: the fan-out path (``fanout.py``) reads entries too, and the
engine module stays about deciding, not about the shape of its cache.

An entry keeps two vectors over its rows: ``static`` (the weighted static scores, -inf where
a static hard filter excludes the row) and ``total`` (static plus every dynamic step), which
the engine keeps in sync with the state: after a few events it re-scores only the rows they
touched (``seen``: how far it has read ``ClusterState.changed``), and a changed static
attribute of one invoker patches that row (``restated``: how far it has read
``ClusterState.restated``). Placing is then one ``argmax`` over ``total``.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from .constraints import Constraint
from .plugin import Context, Plugin


class BoundAction(Protocol):
    """What the preprocessor hands over: a cache key naming action+binding, constraints."""

    @property
    def key(self) -> str: ...

    @property
    def constraints(self) -> tuple[Constraint, ...]: ...


Bound = BoundAction | Sequence[Constraint]


def _not_made() -> Any:
    raise AssertionError("a step's row function is made by Engine._recompute")


@dataclass
class Step:
    """One dynamic constraint of an entry, ready to run (``lo``/``scale`` map raw to weighted
    0-100: ``(raw - lo) * scale``)."""

    plugin: Plugin
    ctx: Context
    hard: bool
    weight: float
    lo: float = 0.0
    scale: float = 0.0
    row: Callable[[int, int], Any] = field(default=lambda row, at: _not_made())
    # ^ the plugin's row_filter/row_score, made by Engine._recompute (the first sync)


@dataclass
class Span:
    """A static min-max score of an entry: its raw values over the entry's rows and the
    range it was normalised with. A patched row that moves the range (over the candidates)
    changes every row's share, so the entry is rebuilt then."""

    plugin: Plugin
    constraint: Constraint
    raw: np.ndarray  # float64 over the entry's rows
    lo: float
    hi: float


@dataclass
class Entry:
    version: int  # ClusterState.static_version it was built at
    rows: np.ndarray | None  # None: every row of the state
    static: np.ndarray  # float32 over the entry's rows: weighted static score, -inf excluded
    steps: list[Step]  # the dynamic constraints, hard ones first
    constraints: tuple[Constraint, ...]
    action: str
    total: np.ndarray  # float32: static + dynamic, as of ``seen``
    seen: int = -1  # ClusterState.changed.seq that ``total`` reflects (-1: none yet)
    restated: int = 0  # ClusterState.restated.seq that ``static`` reflects
    depends: tuple[Any, ...] = ()  # the watched steps' ``depends`` that ``total`` reflects
    shared: int = -1  # ClusterState.shared_version ``depends`` was last checked at
    watch: list[Step] = field(default_factory=list)  # steps whose plugin has ``depends``
    filters: list[tuple[Plugin, Constraint]] = field(default_factory=list)  # static hard
    scores: list[tuple[Plugin, Constraint]] = field(default_factory=list)  # static, BOUNDS
    spans: list[Span] = field(default_factory=list)  # static, min-max
    minmax: list[tuple[np.ndarray, float]] = field(default_factory=list)  # see _build
    row_list: array[int] | None = None  # ``rows`` for ``bisect`` (None with ``rows``)

    @property
    def nbytes(self) -> int:
        held = [self.static, self.total, *(s.raw for s in self.spans),
                *(s.ctx.prepared for s in self.steps if isinstance(s.ctx.prepared, np.ndarray))]
        if self.rows is not None:
            held.append(self.rows)
        listed = 0 if self.row_list is None else self.row_list.itemsize * len(self.row_list)
        return sum(a.nbytes for a in held) + listed
