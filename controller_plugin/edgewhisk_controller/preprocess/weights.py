"""Soft-constraint weights: configuration, looked up by plugin name.

Why a value of its own: the compiler writes each soft constraint's weight into the
``Constraint`` so the engine's per-version cache holds ready-to-use weights, and a compiled
action is keyed by the weights it was compiled with (changing the configuration recompiles).
The controller builds ``Weights`` from its placement configuration
(``--placement-config FILE``, ``placement.weights``; ``weights_of``); a plugin missing there
weighs ``DEFAULT_WEIGHT``. The engine uses ``Constraint.weight`` as given for the constraints
the preprocessor compiled, so the configured weight is applied exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..placement.config import DEFAULT_WEIGHTS, PlacementConfig

DEFAULT_WEIGHT = 1.0


class Weights:
    """Plugin name -> weight of its soft constraints (non-negative, finite)."""

    def __init__(self, weights: Mapping[str, float] | None = None) -> None:
        given = dict(weights or {})
        for name, weight in given.items():
            if not (isinstance(weight, int | float) and 0 <= weight < float("inf")):
                raise ValueError(f"placement weight of {name!r} must be a number >= 0, "
                                 f"not {weight!r}")
        self._weights = {name: float(w) for name, w in given.items()}

    def of(self, plugin: str) -> float:
        return self._weights.get(plugin, DEFAULT_WEIGHT)

    def items(self) -> list[tuple[str, float]]:
        return sorted(self._weights.items())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Weights) and self._weights == other._weights

    def __hash__(self) -> int:
        return hash(tuple(self.items()))

    def __repr__(self) -> str:
        return f"Weights({self._weights!r})"


def default_weights() -> Weights:
    """The defaults of the placement configuration (``placement.config.DEFAULT_WEIGHTS``)."""
    return Weights(DEFAULT_WEIGHTS)


def weights_of(config: PlacementConfig | None) -> Weights:
    """The weights of a loaded placement configuration (its defaults for None)."""
    return default_weights() if config is None else Weights(config.weights)
