"""BalancedLoad: prefer invokers with the larger share of their memory free.

Free memory is the engine's running account (registration's free memory, minus what placed
activations hold until they complete, or what a heartbeat reports), so two placements in a
row spread even before any invoker reports back.
"""

from __future__ import annotations

import numpy as np

from ..constraints import BALANCED_LOAD, BalancedLoadArgs
from ..plugin import Context, RowScore, RowScored
from ..state import Vector


class BalancedLoad(RowScored[BalancedLoadArgs]):
    NAME = BALANCED_LOAD
    DYNAMIC = True
    BOUNDS = (0.0, 1.0)

    def score(self, ctx: Context[BalancedLoadArgs]) -> Vector:
        memory = ctx.view.col("memory_mb").astype(np.float64)
        free = ctx.view.col("free_memory_mb")
        share = np.divide(free, memory, out=np.zeros(ctx.view.size), where=memory > 0)
        return np.minimum(np.maximum(share, 0.0, out=share), 1.0, out=share)

    def row_score(self, ctx: Context[BalancedLoadArgs]) -> RowScore:
        memory, free = ctx.view.state.cols["memory_mb"], ctx.view.state.cols["free_memory_mb"]

        def share(row: int, at: int) -> float:
            total = memory.item(row)
            return min(max(free.item(row) / total, 0.0), 1.0) if total > 0 else 0.0

        return share
