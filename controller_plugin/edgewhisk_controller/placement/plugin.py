"""The plugin contract: a small interface, plus opt-in parts a plugin declares by subclassing.

Like a Kubernetes scheduler plugin, but vectorised. Every plugin is a ``Plugin``: a ``NAME``
and whether it is ``dynamic``. It takes part as a ``Filter`` (``filter(ctx)``: a bool array
over the rows of ``ctx.view``, True where the invoker may run the activation, and ``explain``:
how the unschedulable message names the invokers it excluded) and/or as a ``Score``
(``score(ctx)``: *raw* scores, higher is better, or a ``Sparse`` one; ``BOUNDS``: the raw
range when it is known in advance). A plugin never normalises or weighs: the framework maps
raw scores to 0-100 (``normalise``) and applies the weight, so plugins stay small and
comparable. Its arguments are its constraint's typed ``Args`` (``constraints.py``).

``dynamic`` says what the framework may cache: False means the result depends only on the
invokers' static attributes and the bound arguments, so the engine computes it once per
(action, binding) and cluster version; True means it reads state that changes between
placements (health, free memory, load, warm containers, queues) and is kept up to date row by
row. Dynamic scores need ``BOUNDS`` (the dynamic part never takes a min and max).

Opt-in parts, declared by subclassing, never detected (the engine asks ``isinstance``):

- ``RowFiltered`` / ``RowScored``: an O(1) per-row form (``row_filter`` / ``row_score``), how
  the engine re-checks a row an event changed; without it the engine runs the vector form on
  a one-row view (``row_filter_of`` / ``row_score_of``: always right, a few microseconds).
- ``Indexed``: ``rows(ctx)``, the rows a static filter lets through, from a member index
  (a user's devices, one network) without a pass over the cluster (fan-out, few candidates).
- ``Prepared``: ``prepare(ctx)``, the cacheable half of a dynamic plugin (one value, or an
  array over the view's rows that the engine patches when a row's static attributes change).
- ``Shared``: ``depends(ctx)``, what every row's result reads besides the rows' columns (an
  action's assumed run time): when it changes, the engine recomputes the entry in numpy.

The tests check every per-row form against its vector form.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np

from .config import PlacementConfig
from .constraints import Args
from .state import Mask, Rows, Vector, View

A = TypeVar("A", bound=Args)

RowFilter = Callable[[int, int], bool]
"""``filter`` for one row: (state row, its position in the context's view) -> passes."""
RowScore = Callable[[int, int], float]
"""``score`` (raw) for one row: (state row, its position in the context's view) -> raw."""


@dataclass(frozen=True)
class Context(Generic[A]):
    """What a plugin sees: the invokers, its bound arguments, the action being placed."""

    view: View
    args: A
    action: str  # "ns/name@version": warm containers and run times are kept per action key
    prepared: Any = None  # what ``Prepared.prepare`` returned for this binding


@dataclass(frozen=True)
class Sparse:
    """A raw score that is the plugin's lower bound except ``value`` at ``positions``."""

    positions: Rows  # positions within the view
    value: float


class Plugin(abc.ABC, Generic[A]):
    """Every plugin: a name, and whether its results change between placements."""

    NAME: ClassVar[str]
    DYNAMIC: ClassVar[bool] = False

    def __init__(self, config: PlacementConfig) -> None:
        self.config = config

    @property
    def dynamic(self) -> bool:
        """Whether results change between placements (a configuration may decide it)."""
        return self.DYNAMIC


class Filter(Plugin[A]):
    """A plugin that can be a hard constraint."""

    @abc.abstractmethod
    def filter(self, ctx: Context[A]) -> Mask:
        """True for each row of ``ctx.view`` that may run the activation."""

    def explain(self, args: A) -> str:
        """How the unschedulable message names invokers this filter excluded."""
        return f"rejected by {self.NAME}"


class Score(Plugin[A]):
    """A plugin that can be a soft constraint."""

    BOUNDS: ClassVar[tuple[float, float] | None] = None  # None: min-max over the candidates

    @abc.abstractmethod
    def score(self, ctx: Context[A]) -> Vector | Sparse:
        """Raw scores over the rows of ``ctx.view`` (higher is better)."""


class RowFiltered(Filter[A]):
    """A filter with an O(1) form for single rows."""

    @abc.abstractmethod
    def row_filter(self, ctx: Context[A]) -> RowFilter:
        """``filter`` for single rows: how the engine re-checks each row an event changed.

        The engine asks for it again whenever it recomputes the entry (after ``depends``
        changed, and after registrations, which rebuild entries): the function may bind what
        stays fixed until then -- column arrays, the run time."""


class RowScored(Score[A]):
    """A score with an O(1) form for single rows."""

    @abc.abstractmethod
    def row_score(self, ctx: Context[A]) -> RowScore:
        """``score`` (raw) for single rows; see ``RowFiltered.row_filter``."""


class Indexed(Filter[A]):
    """A static filter answering from member indexes which rows it lets through."""

    @abc.abstractmethod
    def rows(self, ctx: Context[A]) -> Rows | None:
        """The sorted state rows of the whole cluster it lets through, when a member index
        answers that without a pass over every invoker; None: not for these args. The engine
        then evaluates the other hard filters only on those rows (fan-out)."""


class Prepared(Plugin[A]):
    """A dynamic plugin with a cacheable half."""

    @abc.abstractmethod
    def prepare(self, ctx: Context[A]) -> Vector | float:
        """Per-binding precomputation: one value for every row, or an array over the rows of
        ``ctx.view`` (the engine patches the element of a row whose static attributes
        change)."""


class Shared(Plugin[A]):
    """A dynamic plugin whose every row reads one value no row holds."""

    @abc.abstractmethod
    def depends(self, ctx: Context[A]) -> Hashable:
        """That value (DeadlineFeasibility: the action's assumed run time): when it changes,
        every row's result may, so the engine recomputes the entry in full instead of
        catching up row by row. Asked again only when ``ClusterState.shared_version`` moved."""


def prepared(plugin: Plugin[A], ctx: Context[A]) -> Context[A]:
    """``ctx`` with what the plugin prepares for it (unchanged for a plugin that does not)."""
    if isinstance(plugin, Prepared):
        return Context(ctx.view, ctx.args, ctx.action, plugin.prepare(ctx))
    return ctx


def row_filter_of(plugin: Filter[A], ctx: Context[A]) -> RowFilter:
    """The plugin's per-row filter: its own O(1) form, or its vector form on one row."""
    if isinstance(plugin, RowFiltered):
        return plugin.row_filter(ctx)
    return lambda row, at: bool(plugin.filter(one_row(ctx, row, at))[0])


def row_score_of(plugin: Score[A], ctx: Context[A]) -> RowScore:
    """The plugin's per-row raw score: its own O(1) form, or its vector form on one row."""
    if isinstance(plugin, RowScored):
        return plugin.row_score(ctx)
    return lambda row, at: raw_value(plugin.score(one_row(ctx, row, at)), plugin.BOUNDS)


def one_row(ctx: Context[A], row: int, at: int) -> Context[A]:
    """``ctx`` narrowed to state ``row`` (position ``at`` of ``ctx.view``): a one-row view,
    and the row's element of an array ``prepared``."""
    prepared = ctx.prepared
    if isinstance(prepared, np.ndarray):
        prepared = prepared[at:at + 1]
    return Context(View(ctx.view.state, np.array([row], np.intp)), ctx.args, ctx.action,
                   prepared)


def raw_value(raw: Vector | Sparse, bounds: tuple[float, float] | None) -> float:
    """The one raw score of a one-row result (a ``Sparse`` one: its value or its floor)."""
    if isinstance(raw, Sparse):
        assert bounds is not None, "a sparse score needs BOUNDS"
        return raw.value if len(raw.positions) else bounds[0]
    return float(raw[0])


def normalise(raw: Vector | Sparse, size: int, bounds: tuple[float, float] | None,
              candidates: Mask | None = None) -> Vector:
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


def add_score(raw: Vector | Sparse, total: Vector, lo: float, scale: float) -> None:
    """Add ``(raw - lo) * scale`` to ``total`` in place: how the engine applies a dynamic
    score to all of an entry's rows at once (when it recomputes the entry)."""
    if isinstance(raw, Sparse):
        if lo:
            total -= np.float32(lo * scale)
        total[raw.positions] += np.float32((raw.value - lo) * scale)
    elif lo:
        total += (raw - lo) * scale
    else:
        total += raw * scale
