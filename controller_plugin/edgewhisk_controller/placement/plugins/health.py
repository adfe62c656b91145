"""Health: only invokers that are up (registered, heartbeating, not closed) run activations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import constraints
from ..plugin import Context, Plugin


class Health(Plugin):
    NAME = constraints.HEALTH
    DYNAMIC = True  # heartbeats flip it

    def filter(self, ctx: Context) -> np.ndarray:
        return ctx.view.col("healthy")

    def filter_row(self, ctx: Context, row: int, at: int) -> bool:
        return bool(ctx.view.state.cols["healthy"].item(row))

    def explain(self, args: Mapping[str, Any]) -> str:
        return "unhealthy"
