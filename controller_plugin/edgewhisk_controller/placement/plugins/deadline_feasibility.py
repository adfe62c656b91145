"""DeadlineFeasibility: ``policy.deadline(within)`` — can the invoker finish in time?

Estimate per invoker: queue (``queue_ms``: expected run time of the activations already placed
on it, divided by its cpus) + transfer of the consumed artifacts (as ArtifactLocality) + this
action's observed run time (an EWMA per action version, ``default_run_ms`` before the first
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
from ..plugin import Context, Plugin
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

    def estimate_ms(self, ctx: Context) -> np.ndarray:
        run = ctx.view.run_ms(ctx.args.get("action") or ctx.action, self.config.default_run_ms)
        return ctx.view.col("queue_ms") + ctx.prepared + run

    def filter(self, ctx: Context) -> np.ndarray:
        return self.estimate_ms(ctx) <= ctx.args["within_s"] * 1000.0

    def score(self, ctx: Context) -> np.ndarray:
        """(deadline - estimate) / deadline, at least 0 (it cannot exceed 1)."""
        within = float(ctx.args["within_s"]) * 1000.0
        run = ctx.view.run_ms(ctx.args.get("action") or ctx.action, self.config.default_run_ms)
        slack = ((within - run) - ctx.prepared - ctx.view.col("queue_ms")) * (1.0 / within)
        return np.maximum(slack, 0.0, out=slack)

    def add_score(self, ctx: Context, total: np.ndarray, lo: float, scale: float) -> float:
        """``score`` fused with the engine's weighting in three numpy calls instead of seven.

        With ``c = scale * (within - run - transfer) / within`` and ``k = scale / within``
        the weighted score is ``max(c - k * queue, 0) = max(-k * queue, -c) + c``: the
        constant ``c`` is left out (returned) when the transfer part is one number for every
        row (nothing consumed), else added with the cached transfer vector.
        """
        if scale <= 0.0:
            return super().add_score(ctx, total, lo, scale)
        within = float(ctx.args["within_s"]) * 1000.0
        run = ctx.view.run_ms(ctx.args.get("action") or ctx.action, self.config.default_run_ms)
        k = scale / within
        part = np.multiply(ctx.view.col("queue_ms"), np.float32(-k), dtype=np.float32)
        prepared = ctx.prepared
        if isinstance(prepared, np.ndarray):
            part += (within - run - prepared) * k
            np.maximum(part, np.float32(0.0), out=part)
            offset = 0.0
        else:
            offset = (within - run - float(prepared)) * k
            np.maximum(part, np.float32(-offset), out=part)
        total += part
        return offset - lo * scale

    def explain(self, args: Mapping[str, Any]) -> str:
        return f"unable to finish within {args['within_s']:g} s"
