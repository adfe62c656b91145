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

from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import constraints
from ..plugin import Context, Plugin, RowFilter, RowScore
from .artifact_locality import transfer_ms


class DeadlineFeasibility(Plugin):
    NAME = constraints.DEADLINE_FEASIBILITY
    DYNAMIC = True
    BOUNDS = (0.0, 1.0)

    def prepare(self, ctx: Context) -> np.ndarray | float:
        """Transfer milliseconds per invoker (0.0 when the action consumes nothing)."""
        artifacts = ctx.args.get("artifacts") or ()
        if not artifacts:
            return 0.0
        return transfer_ms(ctx.view, artifacts, ctx.args.get("site"), self.config)

    def depends(self, ctx: Context) -> float:
        """The observed run time: it moves every row's estimate at once."""
        return ctx.view.run_ms(ctx.args.get("action") or ctx.action, self.config.default_run_ms)

    def estimate_ms(self, ctx: Context) -> np.ndarray:
        """In float64, as ``_estimate_row``: both forms decide a deadline at its edge alike."""
        return ctx.view.col("queue_ms").astype(np.float64) + ctx.prepared + self.depends(ctx)

    def row_estimate(self, ctx: Context) -> RowScore:
        """``estimate_ms`` for one row, with the run time bound (see ``Plugin.row_filter``)."""
        queue, prepared, run = ctx.view.state.cols["queue_ms"], ctx.prepared, self.depends(ctx)
        if isinstance(prepared, np.ndarray):
            return lambda row, at: queue.item(row) + prepared.item(at) + run
        transfer = float(prepared)
        return lambda row, at: queue.item(row) + transfer + run

    def row_filter(self, ctx: Context) -> RowFilter:
        estimate, limit = self.row_estimate(ctx), ctx.args["within_s"] * 1000.0
        return lambda row, at: estimate(row, at) <= limit

    def row_score(self, ctx: Context) -> RowScore:
        estimate, within = self.row_estimate(ctx), float(ctx.args["within_s"]) * 1000.0
        per_ms = 1.0 / within
        return lambda row, at: max((within - estimate(row, at)) * per_ms, 0.0)

    def filter(self, ctx: Context) -> np.ndarray:
        return self.estimate_ms(ctx) <= ctx.args["within_s"] * 1000.0

    def score(self, ctx: Context) -> np.ndarray:
        """(deadline - estimate) / deadline, at least 0 (it cannot exceed 1)."""
        within = float(ctx.args["within_s"]) * 1000.0
        slack = (within - self.estimate_ms(ctx)) * (1.0 / within)
        return np.maximum(slack, 0.0, out=slack)

    def explain(self, args: Mapping[str, Any]) -> str:
        return f"unable to finish within {args['within_s']:g} s"
