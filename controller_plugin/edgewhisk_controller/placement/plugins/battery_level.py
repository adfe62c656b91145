"""BatteryLevel: ``policy.context(battery='>=0.3')`` — the device's live battery level.

Args: ``op`` (``<``, ``<=``, ``>``, ``>=``) and ``level`` (0..1). An invoker without a battery
(mains powered: a cloud node, ``battery`` -1 in the state) always passes. Hard when strict;
soft scores the invokers that pass 1 and the others 0. Static: a ``context`` report restates
the row, so cached entries patch just that row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import numpy as np
from edgewhisk.terms import PREDICATE_OPERATORS

from ..constraints import BATTERY_LEVEL, BatteryLevelArgs
from ..plugin import Context, Filter, Score
from ..state import Mask, Vector


class BatteryLevel(Filter[BatteryLevelArgs], Score[BatteryLevelArgs]):
    NAME = BATTERY_LEVEL
    BOUNDS = (0.0, 1.0)

    def filter(self, ctx: Context[BatteryLevelArgs]) -> Mask:
        level = ctx.view.col("battery")
        # the SDK's operators, applied to the column (numpy compares element-wise)
        compare = cast(Callable[[Vector, np.float32], Mask], PREDICATE_OPERATORS[ctx.args.op])
        holds = compare(level, np.float32(ctx.args.level))
        passing: Mask = (level < 0) | holds
        return passing

    def score(self, ctx: Context[BatteryLevelArgs]) -> Vector:
        return self.filter(ctx).astype(np.float64)

    def explain(self, args: BatteryLevelArgs) -> str:
        return f"failing context(battery{args.op}{args.level:g})"
