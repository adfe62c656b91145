"""Health: only invokers that are up (registered, heartbeating, not closed) run activations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import constraints
from ..plugin import Context, Plugin, RowFilter


class Health(Plugin):
    NAME = constraints.HEALTH
    DYNAMIC = True  # heartbeats flip it

    def filter(self, ctx: Context) -> np.ndarray:
        return ctx.view.col("healthy")

    def row_filter(self, ctx: Context) -> RowFilter:
        healthy = ctx.view.state.cols["healthy"]
        return lambda row, at: bool(healthy.item(row))

    def explain(self, args: Mapping[str, Any]) -> str:
        return "unhealthy"
