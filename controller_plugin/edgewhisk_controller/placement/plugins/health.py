"""Health: only invokers that are up (registered, heartbeating, not closed) run activations."""

from __future__ import annotations

from ..constraints import HEALTH, HealthArgs
from ..plugin import Context, RowFilter, RowFiltered
from ..state import Mask


class Health(RowFiltered[HealthArgs]):
    NAME = HEALTH
    DYNAMIC = True  # heartbeats flip it

    def filter(self, ctx: Context[HealthArgs]) -> Mask:
        return ctx.view.col("healthy")

    def row_filter(self, ctx: Context[HealthArgs]) -> RowFilter:
        healthy = ctx.view.state.cols["healthy"]
        return lambda row, at: bool(healthy.item(row))

    def explain(self, args: HealthArgs) -> str:
        return "unhealthy"
