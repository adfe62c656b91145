"""ArtifactLocality: where the consumed artifacts are, and what moving them costs.

Args: ``artifacts``, artifact keys (``u1/glucose``, a model name, an image), each either a
plain key -- its size is what the engine was told (``Engine.artifact_sizes``), unknown
counts as 0 bytes -- or a pair ``(key, size_bytes)``; and ``site``, where the copies that
must move are (None: the controller's site). Hard (a strict ``local`` artifact): the invoker
holds every listed artifact. Soft: the raw score is minus the estimated transfer time, bytes
it does not hold / its bandwidth + the site-to-site latency (0 when nothing must move).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..config import PlacementConfig
from ..constraints import ARTIFACT_LOCALITY, Artifact, ArtifactLocalityArgs
from ..plugin import Context, Filter, Score
from ..state import Mask, Vector, View


def keys(artifacts: Iterable[Artifact]) -> tuple[str, ...]:
    return tuple(a if isinstance(a, str) else a[0] for a in artifacts)


def phrase(artifacts: Iterable[Artifact]) -> str:
    """What an unschedulable activation says of the invokers the hard filter excluded."""
    return f"without artifact {' and '.join(keys(artifacts))}"


def named(said: str) -> tuple[str, ...]:
    """The artifact keys a ``phrase`` names (none if ``said`` is not one): an explanation
    that adds to what the filter said finds its artifacts without parsing it twice."""
    head = phrase(())
    return tuple(said[len(head):].split(" and ")) if said.startswith(head) \
        and len(said) > len(head) else ()


def site_latency(view: View, site: str | None, config: PlacementConfig) -> Vector:
    """Milliseconds from ``site`` to each row's site."""
    names = view.names("site")
    by_code = np.array([config.latency(site or "", name) for name in names] or [0.0])
    latency: Vector = by_code[view.col("site")]
    return latency


def transfer_ms(view: View, artifacts: Iterable[Artifact], site: str | None,
                config: PlacementConfig) -> Vector:
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


class ArtifactLocality(Filter[ArtifactLocalityArgs], Score[ArtifactLocalityArgs]):
    NAME = ARTIFACT_LOCALITY

    def filter(self, ctx: Context[ArtifactLocalityArgs]) -> Mask:
        return ctx.view.has_all("cached", keys(ctx.args.artifacts))

    def score(self, ctx: Context[ArtifactLocalityArgs]) -> Vector:
        return -transfer_ms(ctx.view, ctx.args.artifacts, ctx.args.site, self.config)

    def explain(self, args: ArtifactLocalityArgs) -> str:
        return phrase(args.artifacts)
