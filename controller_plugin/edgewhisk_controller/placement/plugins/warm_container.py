"""WarmContainer: prefer invokers holding a warm container of this action version.

Args: optional ``action`` (``ns/name@version``; default the placed action). Warm containers
are learnt from completions (``Engine.completed(..., warm=...)``) and heartbeats; the score
is sparse (1 on those invokers, 0 elsewhere), so it costs nothing per invoker.
"""

from __future__ import annotations

import numpy as np

from .. import constraints
from ..plugin import Context, Plugin, Sparse


class WarmContainer(Plugin):
    NAME = constraints.WARM_CONTAINER
    DYNAMIC = True
    BOUNDS = (0.0, 1.0)

    def score(self, ctx: Context) -> Sparse:
        return Sparse(ctx.view.warm(ctx.args.get("action") or ctx.action), 1.0)

    def add_score(self, ctx: Context, total: np.ndarray, lo: float, scale: float) -> float:
        """``score`` without building the ``Sparse`` on every placement: the weighted 1 at
        the warm positions; the 0 (or ``-lo * scale``) elsewhere is the constant left out."""
        positions = ctx.view.warm(ctx.args.get("action") or ctx.action)
        if len(positions):
            total[positions] += np.float32(scale)
        return -lo * scale
