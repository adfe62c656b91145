"""ArtifactLocality: where the consumed artifacts are, and what moving them costs.

Args: ``artifacts``, artifact keys (``u1/glucose``, a model name, an image), each either a
plain key -- its size is what the engine was told (``Engine.artifact_sizes``), unknown
counts as 0 bytes -- or a pair ``(key, size_bytes)``; and ``site``, where the copies that
must move are (None: the controller's site). Hard (a strict ``local`` artifact): the invoker
holds every listed artifact. Soft: the raw score is minus the estimated transfer time, bytes
it does not hold / its bandwidth + the site-to-site latency (0 when nothing must move).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .. import constraints
from ..config import PlacementConfig
from ..plugin import Context, Plugin
from ..state import View


def keys(artifacts: Iterable[Any]) -> tuple[str, ...]:
    return tuple(a if isinstance(a, str) else a[0] for a in artifacts)


def site_latency(view: View, site: str | None, config: PlacementConfig) -> np.ndarray:
    """Milliseconds from ``site`` to each row's site."""
    names = view.names("site")
    by_code = np.array([config.latency(site or "", name) for name in names] or [0.0])
    return by_code[view.col("site")]


def transfer_ms(view: View, artifacts: Iterable[Any], site: str | None,
                config: PlacementConfig) -> np.ndarray:
    """Estimated milliseconds to bring ``artifacts`` to each row."""
    missing = np.zeros(view.size)
    for artifact in artifacts:
        key, size = (artifact, view.artifact_size(artifact)) if isinstance(artifact, str) \
            else artifact
        if size:
            missing += (~view.has_any("cached", (key,))) * float(size)
    bandwidth = np.maximum(view.col("bandwidth_mbps").astype(np.float64), 1e-6)
    seconds = missing * 8.0 / (bandwidth * 1e6)
    return np.where(missing > 0, seconds * 1000.0 + site_latency(view, site, config), 0.0)


class ArtifactLocality(Plugin):
    NAME = constraints.ARTIFACT_LOCALITY

    def filter(self, ctx: Context) -> np.ndarray:
        return ctx.view.has_all("cached", keys(ctx.args["artifacts"]))

    def score(self, ctx: Context) -> np.ndarray:
        return -transfer_ms(ctx.view, ctx.args["artifacts"], ctx.args.get("site"), self.config)

    def explain(self, args: Mapping[str, Any]) -> str:
        return f"without artifact {' and '.join(keys(args['artifacts']))}"
