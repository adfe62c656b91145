"""DeadlineFeasibility: ``policy.deadline(within)`` — can the invoker finish in time?

Estimate per invoker: queue (``queue_ms``: expected run time of the activations already placed
on it, divided by its cpus) + transfer of the consumed artifacts (as ArtifactLocality) + this
action's observed run time (an EWMA per action version, followed in 10% steps so that
every completion does not move every estimate; ``default_run_ms`` before the first
observation). Hard (strict): estimate <= ``within_s``. Soft: the slack left, as a fraction
of the deadline, at least 0. Args: ``within_s``; optional ``action`` (the action key
whose run time counts; default the placed action), ``artifacts`` and ``site`` (as
ArtifactLocality). The transfer part is static and cached through ``prepare``.
"""

from __future__ import annotations

import numpy as np

from ..constraints import DEADLINE_FEASIBILITY, DeadlineFeasibilityArgs
from ..plugin import Context, Prepared, RowFilter, RowFiltered, RowScore, RowScored, Shared
from ..state import Mask, Vector
from .artifact_locality import transfer_ms

Ctx = Context[DeadlineFeasibilityArgs]


class DeadlineFeasibility(RowFiltered[DeadlineFeasibilityArgs],
                          RowScored[DeadlineFeasibilityArgs],
                          Prepared[DeadlineFeasibilityArgs], Shared[DeadlineFeasibilityArgs]):
    NAME = DEADLINE_FEASIBILITY
    DYNAMIC = True
    BOUNDS = (0.0, 1.0)

    def prepare(self, ctx: Ctx) -> Vector | float:
        """Transfer milliseconds per invoker (0.0 when the action consumes nothing)."""
        if not ctx.args.artifacts:
            return 0.0
        return transfer_ms(ctx.view, ctx.args.artifacts, ctx.args.site, self.config)

    def depends(self, ctx: Ctx) -> float:
        """The observed run time: it moves every row's estimate at once."""
        return ctx.view.run_ms(ctx.args.action or ctx.action, self.config.default_run_ms)

    def estimate_ms(self, ctx: Ctx) -> Vector:
        """In float64, as ``row_estimate``: both forms decide a deadline at its edge alike."""
        queue: Vector = ctx.view.col("queue_ms").astype(np.float64)
        estimate: Vector = queue + ctx.prepared + self.depends(ctx)
        return estimate

    def row_estimate(self, ctx: Ctx) -> RowScore:
        """``estimate_ms`` for one row, with the run time bound (see ``row_filter``)."""
        queue, prepared, run = ctx.view.state.cols["queue_ms"], ctx.prepared, self.depends(ctx)
        if isinstance(prepared, np.ndarray):
            return lambda row, at: queue.item(row) + prepared.item(at) + run
        transfer = float(prepared)
        return lambda row, at: queue.item(row) + transfer + run

    def row_filter(self, ctx: Ctx) -> RowFilter:
        estimate, limit = self.row_estimate(ctx), ctx.args.within_s * 1000.0
        return lambda row, at: estimate(row, at) <= limit

    def row_score(self, ctx: Ctx) -> RowScore:
        estimate, within = self.row_estimate(ctx), float(ctx.args.within_s) * 1000.0
        per_ms = 1.0 / within
        return lambda row, at: max((within - estimate(row, at)) * per_ms, 0.0)

    def filter(self, ctx: Ctx) -> Mask:
        return self.estimate_ms(ctx) <= ctx.args.within_s * 1000.0

    def score(self, ctx: Ctx) -> Vector:
        """(deadline - estimate) / deadline, at least 0 (it cannot exceed 1)."""
        within = float(ctx.args.within_s) * 1000.0
        slack = (within - self.estimate_ms(ctx)) * (1.0 / within)
        return np.maximum(slack, 0.0, out=slack)

    def explain(self, args: DeadlineFeasibilityArgs) -> str:
        return f"unable to finish within {args.within_s:g} s"
