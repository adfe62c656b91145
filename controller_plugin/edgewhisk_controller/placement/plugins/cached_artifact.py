"""CachedArtifact: prefer invokers already holding the model/image the action needs.

Args: ``artifacts``, artifact keys (or ``(key, size)`` pairs). Raw score: the fraction of
them the invoker holds.
"""

from __future__ import annotations

import numpy as np

from .. import constraints
from ..plugin import Context, Plugin
from .artifact_locality import keys


class CachedArtifact(Plugin):
    NAME = constraints.CACHED_ARTIFACT
    BOUNDS = (0.0, 1.0)

    def score(self, ctx: Context) -> np.ndarray:
        wanted = keys(ctx.args["artifacts"])
        if not wanted:
            return np.zeros(ctx.view.size)
        return ctx.view.count("cached", wanted) / len(wanted)
