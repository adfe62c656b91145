"""Health: only invokers that are up (registered, heartbeating, not closed) run activations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import constraints
from ..plugin import Context, Plugin
from ..state import View


class Health(Plugin):
    NAME = constraints.HEALTH
    DYNAMIC = True  # heartbeats flip it

    def filter(self, ctx: Context) -> np.ndarray:
        return ctx.view.col("healthy")

    def row_value(self, view: View, row: int) -> float:
        return 1.0 if view.state.cols["healthy"][row] else 0.0

    def explain(self, args: Mapping[str, Any]) -> str:
        return "unhealthy"
