"""CachedArtifact: prefer invokers already holding the model/image the action needs.

Args: ``refs``, artifact keys. Raw score: the fraction of them the invoker holds.
"""

from __future__ import annotations

import numpy as np

from .. import constraints
from ..plugin import Context, Plugin, as_names


class CachedArtifact(Plugin):
    NAME = constraints.CACHED_ARTIFACT
    BOUNDS = (0.0, 1.0)

    def score(self, ctx: Context) -> np.ndarray:
        refs = as_names(ctx.args["refs"])
        if not refs:
            return np.zeros(ctx.view.size)
        return ctx.view.count("cached", refs) / len(refs)
