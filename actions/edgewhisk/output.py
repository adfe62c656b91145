"""``Output``: a produced value with the metadata and metrics the registry keeps beside it.

Why a wrapper rather than more decorator arguments: metadata such as ``trained_on`` is static,
but metrics (accuracy, bias per attribute, drift statistics) are only known once ``main`` has
run, and they are what model selectors (``{"accuracy": ">=0.8"}``) and gates compare. ``main``
returns ``{"glucose-base": Output(net, metadata={...}, metrics={...})}``; the runtime saves the
value as it would a bare one and hands metadata and metrics on to the registry.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .exceptions import ArtifactError


def _plain(what: str, value: Mapping[str, Any] | None) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise ArtifactError(f"Output {what} must be a JSON object with string keys")
    try:
        return dict(json.loads(json.dumps(dict(value), allow_nan=False, default=_scalar)))
    except (TypeError, ValueError) as exc:
        raise ArtifactError(f"Output {what} is not JSON: {exc}") from None


def _scalar(value: Any) -> Any:
    """A numpy scalar as the Python number it holds. Why: metrics are computed with numpy, and
    since numpy 2 (NEP 50) ``np.float32(x) * 0.5`` stays a ``float32``, which ``json`` refuses
    (numpy 1 promoted it to ``float64``, a ``float`` subclass)."""
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
        return value.item()  # a numpy scalar (or 0-d array): numpy is not imported here
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


@dataclass(frozen=True)
class Output:
    """A produced artifact's value plus registry ``metadata`` (type, trained_on, input, ...)
    and ``metrics`` (accuracy, robustness, bias, drift, ...); both JSON objects."""

    value: Any
    metadata: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "metadata", _plain("metadata", self.metadata))
        object.__setattr__(self, "metrics", _plain("metrics", self.metrics))


def unwrap(value: Any) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """``(value, metadata, metrics)`` of a returned value, wrapped in ``Output`` or not."""
    if isinstance(value, Output):
        return value.value, dict(value.metadata), dict(value.metrics)
    return value, {}, {}
