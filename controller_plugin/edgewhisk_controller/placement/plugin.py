"""The plugin contract: a named class with an optional filter and an optional score.

Like a Kubernetes scheduler plugin, but vectorised: ``filter(ctx)`` returns a bool array over
the rows of ``ctx.view`` (True: the invoker may run the activation) and ``score(ctx)`` a float
array of *raw* scores (higher is better) or a ``Sparse`` one. A plugin never normalises or
weighs: the framework maps raw scores to 0-100 (``normalise``) and applies the configured
weight, so plugins stay small and comparable.

``DYNAMIC`` says what the framework may cache: False means the result depends only on the
invokers' static attributes and the constraint's bound arguments, so the engine computes it
once per (action, binding) and cluster version; True means it reads state that changes
between placements (health, free memory, load, warm containers, queues) and runs on every
placement. ``prepare`` is the cacheable half of a dynamic plugin (DeadlineFeasibility's
transfer times). ``BOUNDS`` is the raw score range when it is known in advance (required for
dynamic scores, so the dynamic part never needs a min and max over the cluster).

Per row: the engine keeps each cached entry's totals and, after an event, re-scores only the
rows it changed, through the functions ``row_filter`` / ``row_score`` return -- by default the
vector form on a one-row view (always right, a few microseconds); a dynamic plugin returns an
O(1) one (a sub-microsecond read of a column), and the tests check both forms agree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .config import PlacementConfig
from .state import View

RowFilter = Callable[[int, int], bool]
"""``filter`` for one row: (state row, its position in the context's view) -> passes."""
RowScore = Callable[[int, int], float]
"""``score`` (raw) for one row: (state row, its position in the context's view) -> raw."""


@dataclass(frozen=True)
class Context:
    """What a plugin sees: the invokers, its bound arguments, the action being placed."""

    view: View
    args: Mapping[str, Any]
    action: str  # "ns/name@version": warm containers and run times are kept per action key
    prepared: Any = None  # what ``prepare`` returned for this binding


@dataclass(frozen=True)
class Sparse:
    """A raw score that is the plugin's lower bound except ``value`` at ``positions``."""

    positions: np.ndarray  # positions within the view
    value: float


class Plugin:
    NAME: ClassVar[str]
    DYNAMIC: ClassVar[bool] = False
    BOUNDS: ClassVar[tuple[float, float] | None] = None  # None: min-max over the candidates

    def __init__(self, config: PlacementConfig) -> None:
        self.config = config

    @property
    def dynamic(self) -> bool:
        """Whether results change between placements (a configuration may decide it)."""
        return self.DYNAMIC

    @property
    def has_filter(self) -> bool:
        return type(self).filter is not Plugin.filter

    @property
    def has_score(self) -> bool:
        return type(self).score is not Plugin.score

    def prepare(self, ctx: Context) -> Any:
        """Per-binding precomputation a dynamic plugin may cache (None by default): one value
        for every row, or a numpy array over the rows of ``ctx.view`` (the engine patches
        the element of a row whose static attributes change)."""
        return None

    def depends(self, ctx: Context) -> Any:
        """What a dynamic result reads besides the rows' columns (DeadlineFeasibility: the
        action's assumed run time): when it changes, every row's score may, so the engine
        recomputes the entry in full instead of catching up row by row. None: nothing. The
        engine asks again only when ``ClusterState.shared_version`` moved."""
        return None

    def filter(self, ctx: Context) -> np.ndarray:
        raise NotImplementedError

    def score(self, ctx: Context) -> np.ndarray | Sparse:
        raise NotImplementedError

    def add_score(self, ctx: Context, total: np.ndarray, lo: float, scale: float) -> None:
        """Add ``(score - lo) * scale`` to ``total`` in place: how the engine applies a
        dynamic score to all of an entry's rows at once (when it recomputes the entry)."""
        raw = self.score(ctx)
        if isinstance(raw, Sparse):
            if lo:
                total -= np.float32(lo * scale)
            total[raw.positions] += np.float32((raw.value - lo) * scale)
        elif lo:
            total += (raw - lo) * scale
        else:
            total += raw * scale

    def row_filter(self, ctx: Context) -> RowFilter:
        """``filter`` for single rows: how the engine re-checks each row an event changed.

        The engine asks for it again whenever it recomputes the entry (so after ``depends``
        changed, and after registrations, which rebuild entries): the function may bind what
        stays fixed until then -- column arrays, the run time. This default runs ``filter`` on
        a one-row view; a dynamic plugin returns an O(1) function."""
        return lambda row, at: bool(self.filter(one_row(ctx, row, at))[0])

    def row_score(self, ctx: Context) -> RowScore:
        """``score`` (raw) for single rows; see ``row_filter``."""
        return lambda row, at: raw_value(self.score(one_row(ctx, row, at)), self.BOUNDS)

    def rows(self, ctx: Context) -> np.ndarray | None:
        """Optional sparse form of a static filter over the whole cluster: the sorted state
        rows it lets through, when a member index answers that without a pass over every
        invoker (a user's devices, one network). None: not available for these args. The
        engine then evaluates the other hard filters only on those rows (fan-out)."""
        return None

    def explain(self, args: Mapping[str, Any]) -> str:
        """How the unschedulable message names invokers this filter excluded."""
        return f"rejected by {self.NAME}"


def one_row(ctx: Context, row: int, at: int) -> Context:
    """``ctx`` narrowed to state ``row`` (position ``at`` of ``ctx.view``): a one-row view,
    and the row's element of an array ``prepared``."""
    prepared = ctx.prepared
    if isinstance(prepared, np.ndarray):
        prepared = prepared[at:at + 1]
    return Context(View(ctx.view.state, np.array([row], np.intp)), ctx.args, ctx.action,
                   prepared)


def raw_value(raw: np.ndarray | Sparse, bounds: tuple[float, float] | None) -> float:
    """The one raw score of a one-row result (a ``Sparse`` one: its value or its floor)."""
    if isinstance(raw, Sparse):
        assert bounds is not None, "a sparse score needs BOUNDS"
        return raw.value if len(raw.positions) else bounds[0]
    return float(raw[0])


def normalise(raw: np.ndarray | Sparse, size: int, bounds: tuple[float, float] | None,
              candidates: np.ndarray | None = None) -> np.ndarray:
    """Raw scores -> 0..100 (float64) over ``size`` rows.

    With ``bounds`` (lo, hi): linear, lo -> 0 and hi -> 100. Without: min-max over the
    ``candidates`` (a bool mask; None = all rows), the lowest candidate -> 0, the highest ->
    100; when every candidate scores the same the plugin cannot tell them apart and gives
    all 0 (it adds nothing). Rows outside the candidates get values that do not matter.
    """
    if isinstance(raw, Sparse):
        assert bounds is not None, "a sparse score needs BOUNDS"
        out = np.zeros(size)
        lo, hi = bounds
        out[raw.positions] = (raw.value - lo) * (100.0 / (hi - lo))
        return out
    raw = np.asarray(raw, np.float64)
    if bounds is not None:
        lo, hi = bounds
    else:
        pool = raw if candidates is None else raw[candidates]
        if pool.size == 0:
            return np.zeros(size)
        lo, hi = float(pool.min()), float(pool.max())
        if hi <= lo:
            return np.zeros(size)
    return (raw - lo) * (100.0 / (hi - lo))


def as_names(value: Any) -> tuple[str, ...]:
    """A constraint argument that is one name or several, as a tuple of names."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)
