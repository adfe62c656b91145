"""CachedArtifact: prefer invokers already holding the model/image the action needs.

Args: ``artifacts``, artifact keys (or ``(key, size)`` pairs). Raw score: the fraction of
them the invoker holds.
"""

from __future__ import annotations

import numpy as np

from ..constraints import CACHED_ARTIFACT, CachedArtifactArgs
from ..plugin import Context, Score
from ..state import Vector
from .artifact_locality import keys


class CachedArtifact(Score[CachedArtifactArgs]):
    NAME = CACHED_ARTIFACT
    BOUNDS = (0.0, 1.0)

    def score(self, ctx: Context[CachedArtifactArgs]) -> Vector:
        wanted = keys(ctx.args.artifacts)
        if not wanted:
            return np.zeros(ctx.view.size)
        return ctx.view.count("cached", wanted) / len(wanted)
