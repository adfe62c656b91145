"""BalancedLoad: prefer invokers with the larger share of their memory free.

Free memory is the engine's running account (registration's free memory, minus what placed
activations hold until they complete, or what a heartbeat reports), so two placements in a
row spread even before any invoker reports back.
"""

from __future__ import annotations

import numpy as np

from .. import constraints
from ..plugin import Context, Plugin


class BalancedLoad(Plugin):
    NAME = constraints.BALANCED_LOAD
    DYNAMIC = True
    BOUNDS = (0.0, 1.0)

    def score(self, ctx: Context) -> np.ndarray:
        memory = ctx.view.col("memory_mb").astype(np.float64)
        free = ctx.view.col("free_memory_mb")
        share = np.divide(free, memory, out=np.zeros(ctx.view.size), where=memory > 0)
        return np.minimum(np.maximum(share, 0.0, out=share), 1.0, out=share)

    def score_row(self, ctx: Context, row: int, at: int) -> float:
        cols = ctx.view.state.cols
        memory = cols["memory_mb"].item(row)
        if not memory > 0:
            return 0.0
        return min(max(cols["free_memory_mb"].item(row) / memory, 0.0), 1.0)
