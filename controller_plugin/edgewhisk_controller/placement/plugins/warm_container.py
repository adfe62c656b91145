"""WarmContainer: prefer invokers holding a warm container of this action version.

Args: optional ``action`` (``ns/name@version``; default the placed action). Warm containers
are learnt from completions (``Engine.completed(..., warm=...)``) and heartbeats; the score
is sparse (1 on those invokers, 0 elsewhere), so it costs nothing per invoker.
"""

from __future__ import annotations

from ..constraints import WARM_CONTAINER, WarmContainerArgs
from ..plugin import Context, RowScore, RowScored, Sparse


class WarmContainer(RowScored[WarmContainerArgs]):
    NAME = WARM_CONTAINER
    DYNAMIC = True
    BOUNDS = (0.0, 1.0)

    def score(self, ctx: Context[WarmContainerArgs]) -> Sparse:
        return Sparse(ctx.view.warm(ctx.args.action or ctx.action), 1.0)

    def row_score(self, ctx: Context[WarmContainerArgs]) -> RowScore:
        warm, action = ctx.view.state.warm, ctx.args.action or ctx.action

        def held(row: int, at: int) -> float:
            rows = warm.get(action)
            return 1.0 if rows and row in rows else 0.0

        return held
