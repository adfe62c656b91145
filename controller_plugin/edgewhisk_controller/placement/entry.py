"""What the engine caches per placement key, and what it accepts as a bound action.

Why apart from ``framework``: the fan-out path (``fanout.py``) reads entries too, and the
engine module stays about deciding, not about the shape of its cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

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


@dataclass
class Entry:
    version: int
    rows: np.ndarray | None  # None: every row of the state
    static: np.ndarray  # float32 over the entry's rows: weighted static score, -inf excluded
    steps: list[Step]
    constraints: tuple[Constraint, ...]
    action: str
    load_weight: float  # summed weight of the BalancedLoad constraints (a global vector)
    minmax: list[tuple[np.ndarray, float]] = field(default_factory=list)  # see _build

    @property
    def nbytes(self) -> int:
        return self.static.nbytes + (0 if self.rows is None else self.rows.nbytes)
