"""ArtifactLocality: where the consumed artifacts are, and what moving them costs.

Args: ``artifacts``, pairs ``(ref, size_bytes)`` (size None: unknown, counted as 0), and
``site``, where the copies that must move are (None: the controller's site). Hard (a strict
``local`` artifact): the invoker holds every listed artifact. Soft: the raw score is minus
the estimated transfer time, bytes it does not hold / its bandwidth + the site-to-site
latency (0 when it holds everything).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .. import constraints
from ..config import PlacementConfig
from ..plugin import Context, Plugin
from ..state import View


def site_latency(view: View, site: str | None, config: PlacementConfig) -> np.ndarray:
    """Milliseconds from ``site`` to each row's site."""
    names = view.names("site")
    by_code = np.array([config.latency(site or "", name) for name in names] or [0.0])
    return by_code[view.col("site")]


def transfer_ms(view: View, artifacts: Iterable[tuple[str, int | None]], site: str | None,
                config: PlacementConfig) -> np.ndarray:
    """Estimated milliseconds to bring ``artifacts`` to each row."""
    missing = np.zeros(view.size)
    for ref, size in artifacts:
        if size:
            missing += (~view.has_any("cached", (ref,))) * float(size)
    bandwidth = np.maximum(view.col("bandwidth_mbps").astype(np.float64), 1e-6)
    seconds = missing * 8.0 / (bandwidth * 1e6)
    return np.where(missing > 0, seconds * 1000.0 + site_latency(view, site, config), 0.0)


class ArtifactLocality(Plugin):
    NAME = constraints.ARTIFACT_LOCALITY

    def filter(self, ctx: Context) -> np.ndarray:
        return ctx.view.has_all("cached", (ref for ref, _ in ctx.args["artifacts"]))

    def score(self, ctx: Context) -> np.ndarray:
        return -transfer_ms(ctx.view, ctx.args["artifacts"], ctx.args.get("site"), self.config)

    def explain(self, args: Mapping[str, Any]) -> str:
        return f"without artifact {' and '.join(ref for ref, _ in args['artifacts'])}"
