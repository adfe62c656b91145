"""Proximity: prefer invokers close to the caller (or the data). Args: ``site``.

The raw score is minus the site-to-site latency from the configuration's matrix; min-max
normalised, so the nearest candidates get 100 and the farthest 0.
"""

from __future__ import annotations

import numpy as np

from .. import constraints
from ..plugin import Context, Plugin
from .artifact_locality import site_latency


class Proximity(Plugin):
    NAME = constraints.PROXIMITY

    def score(self, ctx: Context) -> np.ndarray:
        return -site_latency(ctx.view, ctx.args.get("site"), self.config)
