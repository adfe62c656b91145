"""DeviceState: ``policy.context(charging=True, idle=True, metered=False)`` — one flag of the
device's live context.

Args: ``state`` (``charging``, ``idle`` or ``metered``) and the wanted ``value``. What an
unreported flag (-1 in the state) counts as, and why:

- ``charging``: true on a mains-powered invoker (no battery reported either), false on a
  battery device that does not say (it cannot be assumed plugged in);
- ``idle``: false (only an agent that can tell says it is idle);
- ``metered``: false (invokers that do not report it are cloud nodes on the data centre's
  network).

Hard when strict; soft scores the invokers that match 1. Static: a ``context`` report restates
the row.
"""

from __future__ import annotations

import numpy as np

from ..constraints import DEVICE_STATE, DeviceStateArgs
from ..plugin import Context, Filter, Score
from ..state import Mask, Vector


class DeviceState(Filter[DeviceStateArgs], Score[DeviceStateArgs]):
    NAME = DEVICE_STATE
    BOUNDS = (0.0, 1.0)

    def filter(self, ctx: Context[DeviceStateArgs]) -> Mask:
        held = ctx.view.col(ctx.args.state)
        on: Mask = held == 1
        if ctx.args.state == "charging":
            on = on | ((held < 0) & (ctx.view.col("battery") < 0))
        passing: Mask = on if ctx.args.value else ~on
        return passing

    def score(self, ctx: Context[DeviceStateArgs]) -> Vector:
        return self.filter(ctx).astype(np.float64)

    def explain(self, args: DeviceStateArgs) -> str:
        return f"failing context({'' if args.value else 'not '}{args.state})"
