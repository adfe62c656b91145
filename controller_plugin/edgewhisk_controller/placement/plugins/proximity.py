"""Proximity: prefer invokers close to the caller (or the data). Args: ``site``.

The raw score is minus the latency from ``site`` to the invoker: the site-to-site latency from
the configuration's matrix, except from the controller's own site to an invoker whose
tunnel round trip was measured (``Engine.observe_rtt``), where the measurement wins -- it is
that invoker's real distance, not its site's nominal one. Min-max normalised, so the nearest
candidates get 100 and the farthest 0.
"""

from __future__ import annotations

import numpy as np

from ..constraints import PROXIMITY, ProximityArgs
from ..plugin import Context, Score
from ..state import Vector
from .artifact_locality import site_latency


class Proximity(Score[ProximityArgs]):
    NAME = PROXIMITY

    def score(self, ctx: Context[ProximityArgs]) -> Vector:
        site = ctx.args.site
        latency = site_latency(ctx.view, site, self.config)
        if (site or self.config.site) == self.config.site:
            measured = ctx.view.col("rtt_ms")
            latency = np.where(measured >= 0, measured, latency)
        return -latency
