"""Building small clusters for placement tests: an ``InvokerState`` with short defaults."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from edgewhisk_controller.placement import Engine, InvokerState, PlacementConfig
from edgewhisk_controller.placement.constraints import Constraint
from edgewhisk_controller.placement.plugin import Context, Plugin, Sparse, normalise
from edgewhisk_controller.placement.registry import PLUGINS
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


def _run(name: str, invokers: Sequence[InvokerState], args: Mapping[str, Any], method: str,
         config: PlacementConfig | None, action: str, engine: Engine | None) -> Any:
    engine = engine or engine_of(invokers, config)
    plugin: Plugin = engine.plugins[name]
    view = View(engine.state)
    ctx = Context(view, args, action)
    ctx = Context(view, args, action, plugin.prepare(ctx))
    return plugin.filter(ctx) if method == "filter" else plugin.score(ctx)


def passing(name: str, invokers: Sequence[InvokerState], args: Mapping[str, Any] | None = None,
            *, config: PlacementConfig | None = None, action: str = "guest/a@0.0.1",
            engine: Engine | None = None) -> list[str]:
    """Ids of the invokers plugin ``name``'s filter lets through."""
    mask = _run(name, invokers, args or {}, "filter", config, action, engine)
    ids = [s.id for s in invokers] if engine is None else engine.state.ids
    return [id for id, ok in zip(ids, mask, strict=True) if ok and id is not None]


def scores(name: str, invokers: Sequence[InvokerState], args: Mapping[str, Any] | None = None,
           *, config: PlacementConfig | None = None, action: str = "guest/a@0.0.1",
           engine: Engine | None = None) -> list[float]:
    """Plugin ``name``'s scores normalised by the framework (0-100), rounded to 0.01."""
    raw = _run(name, invokers, args or {}, "score", config, action, engine)
    size = len(raw) if not isinstance(raw, Sparse) else len(invokers)
    norm = normalise(raw, size, PLUGINS[name].BOUNDS)
    return [round(float(x), 2) for x in norm]


def soft(plugin: str, weight: float = 1.0, **args: Any) -> Constraint:
    return Constraint(plugin, args, False, weight)


def hard(plugin: str, **args: Any) -> Constraint:
    return Constraint(plugin, args, True)


__all__ = ["PY", "engine_of", "hard", "inv", "np", "passing", "scores", "soft"]
