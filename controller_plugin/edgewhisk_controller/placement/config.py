"""Placement configuration: plugin weights and the defaults plugins fall back on.

Why one frozen value: the engine, every plugin and the brute-force reference in the tests read
the same numbers, so a weight or a latency is defined in exactly one place. The controller
loads it from ``--placement-config FILE`` (JSON; the keys below, all optional, weights under
``"weights"`` or ``"placement": {"weights": ...}``); anything missing keeps its default.

Latencies between sites are symmetric milliseconds: ``latency_ms`` lists known pairs as
``{"a|b": ms}``; a site to itself costs ``same_site_ms``, unknown pairs ``default_latency_ms``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from . import constraints as c

DEFAULT_WEIGHTS: Mapping[str, float] = {
    c.NODE_SELECTOR: 2.0,
    c.CAPABILITY: 2.0,
    c.NETWORK_MEMBERSHIP: 1.0,
    c.ARTIFACT_LOCALITY: 2.0,
    c.PROXIMITY: 1.0,
    c.DEADLINE_FEASIBILITY: 2.0,
    c.WARM_CONTAINER: 1.0,
    c.CACHED_ARTIFACT: 1.0,
    c.BALANCED_LOAD: 1.0,
    c.ASKING_DEVICE: 1.5,  # above load or warmth alone, below an action's own soft words (2)
}
"""Weight of each scoring plugin; a plugin missing here weighs 1."""


class ConfigError(ValueError):
    """The placement configuration file is unreadable or holds a wrong value."""


@dataclass(frozen=True)
class PlacementConfig:
    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    site: str = ""  # the controller's site: the caller's location when a request names none
    same_site_ms: float = 1.0
    default_latency_ms: float = 50.0
    latency_ms: Mapping[str, float] = field(default_factory=dict)  # "a|b" -> ms, symmetric
    default_run_ms: float = 100.0  # run time assumed before an action was observed
    run_ewma_alpha: float = 0.2  # weight of the newest observed run time
    queue_when_full: bool = True  # True: memory fits the pool's total (the pool queues)
    queue_limit: int | None = None
    """With ``queue_when_full``: the runs other controllers may leave waiting on a full device
    they do not hold; placing on a device known full is a decision to queue there, and its claim
    (``cluster/claims.py``) takes one of these slots instead of memory. None (the default, JSON
    ``null``): no bound, as on a device of one's own, whose pool queues whatever it is given (the
    namespace's concurrency throttle is the only bound), so an invoke has the same outcome
    through 1 controller or N. 0: such a claim waits for no one, it conflicts as one made on a
    stale view does (the run is placed again and fails if the device stays full)."""

    def weight(self, plugin: str) -> float:
        return float(self.weights.get(plugin, 1.0))

    def latency(self, a: str, b: str) -> float:
        """Milliseconds between sites ``a`` and ``b`` ("" is the controller's site)."""
        a, b = a or self.site, b or self.site
        if a == b:
            return self.same_site_ms
        known = self.latency_ms.get(f"{a}|{b}", self.latency_ms.get(f"{b}|{a}"))
        return self.default_latency_ms if known is None else float(known)


def load_config(path: str | Path) -> PlacementConfig:
    """Read a JSON placement configuration file (``ConfigError`` if it is not one)."""
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read placement config {path}: {exc}") from exc
    return config_from(doc)


def config_from(doc: Any) -> PlacementConfig:
    """Build a config from a decoded document, rejecting unknown keys and bad weights."""
    if not isinstance(doc, dict):
        raise ConfigError("the placement config is a JSON object")
    if isinstance(doc.get("placement"), dict):
        doc = doc["placement"]
    known = {f.name for f in fields(PlacementConfig)}
    unknown = sorted(set(doc) - known)
    if unknown:
        raise ConfigError(f"unknown placement config keys: {', '.join(unknown)}")
    weights = dict(DEFAULT_WEIGHTS)
    for name, value in (doc.get("weights") or {}).items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise ConfigError(f"weight of {name} must be a number >= 0, got {value!r}")
        weights[name] = float(value)
    limit = doc.get("queue_limit")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool)
                              or limit < 0):
        raise ConfigError(f"queue_limit must be an integer >= 0 or null, got {limit!r}")
    return PlacementConfig(**{**doc, "weights": weights})
