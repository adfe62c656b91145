"""Building small clusters for placement tests: an ``InvokerState`` with short defaults, and
constraints from a plugin name and keyword arguments (its typed ``Args``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from edgewhisk_controller.placement import Engine, InvokerState, PlacementConfig
from edgewhisk_controller.placement.constraints import ARGS, Constraint, Constraints
from edgewhisk_controller.placement.plugin import (
    Context,
    Filter,
    Plugin,
    Score,
    Sparse,
    normalise,
    prepared,
)
from edgewhisk_controller.placement.state import View

PY = frozenset({"python:3"})


def inv(id: str, *, kinds: Iterable[str] = PY, memory: int = 1024, free: int | None = None,
        in_flight: int = 0, healthy: bool = True, namespaces: Iterable[str] | None = None,
        caps: Iterable[str] = (), networks: Iterable[str] = (),
        labels: Mapping[str, str] | None = None, cached: Iterable[str] = (),
        **more: Any) -> InvokerState:
    return InvokerState(
        id, frozenset(kinds), memory, memory if free is None else free, in_flight, healthy,
        None if namespaces is None else frozenset(namespaces),
        capabilities=frozenset(caps), networks=frozenset(networks), labels=dict(labels or {}),
        cached=frozenset(cached), **more)


def engine_of(invokers: Sequence[InvokerState], config: PlacementConfig | None = None
              ) -> Engine:
    engine = Engine(config)
    for state in invokers:
        engine.register(state)
    return engine


def _context(name: str, invokers: Sequence[InvokerState], args: Mapping[str, Any],
             config: PlacementConfig | None, action: str,
             engine: Engine | None) -> tuple[Plugin[Any], Context[Any]]:
    """Plugin ``name`` of ``engine`` (or of an engine on ``invokers``) and its context over
    every row, prepared, for the arguments ``args`` of its ``Args`` type."""
    engine = engine or engine_of(invokers, config)
    plugin = engine.plugins[name]
    return plugin, prepared(plugin, Context(View(engine.state), ARGS[name](**args), action))


def passing(name: str, invokers: Sequence[InvokerState], args: Mapping[str, Any] | None = None,
            *, config: PlacementConfig | None = None, action: str = "guest/a@0.0.1",
            engine: Engine | None = None) -> list[str]:
    """Ids of the invokers plugin ``name``'s filter lets through."""
    plugin, ctx = _context(name, invokers, args or {}, config, action, engine)
    assert isinstance(plugin, Filter)
    mask = plugin.filter(ctx)
    ids = [s.id for s in invokers] if engine is None else engine.state.ids
    return [id for id, ok in zip(ids, mask, strict=True) if ok and id is not None]


def scores(name: str, invokers: Sequence[InvokerState], args: Mapping[str, Any] | None = None,
           *, config: PlacementConfig | None = None, action: str = "guest/a@0.0.1",
           engine: Engine | None = None) -> list[float]:
    """Plugin ``name``'s scores normalised by the framework (0-100), rounded to 0.01."""
    plugin, ctx = _context(name, invokers, args or {}, config, action, engine)
    assert isinstance(plugin, Score)
    raw = plugin.score(ctx)
    size = len(raw) if not isinstance(raw, Sparse) else len(invokers)
    norm = normalise(raw, size, plugin.BOUNDS)
    return [round(float(x), 2) for x in norm]


def soft(plugin: str, weight: float = 1.0, **args: Any) -> Constraint:
    return Constraint(ARGS[plugin](**args), False, weight)


def hard(plugin: str, **args: Any) -> Constraint:
    return Constraint(ARGS[plugin](**args), True)


def given(*constraints: Constraint) -> Constraints:
    """A bound action of just these constraints (the engine adds the ``always`` ones)."""
    return Constraints(constraints)


__all__ = ["PY", "engine_of", "given", "hard", "inv", "np", "passing", "scores", "soft"]
