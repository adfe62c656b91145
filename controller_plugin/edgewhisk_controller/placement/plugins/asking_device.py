"""AskingDevice: prefer the device that asked (an agent forwarding its local API's invoke).

Why a score and never a filter: the device holds the preloaded model and its data stays
local, so running there is what its user expects -- but only where the action's policy lets
it run there; the hard constraints decide that first, and a device they exclude simply is not
a candidate (the activation runs elsewhere, as without the header). Args: ``invoker`` (an
invoker id). The score is 1 for that invoker, 0 for every other one; an id no invoker has
scores every invoker 0 (the preference changes nothing).
"""

from __future__ import annotations

import numpy as np

from ..constraints import ASKING_DEVICE, AskingDeviceArgs
from ..plugin import Context, Score
from ..state import Vector


class AskingDevice(Score[AskingDeviceArgs]):
    NAME = ASKING_DEVICE
    BOUNDS = (0.0, 1.0)

    def score(self, ctx: Context[AskingDeviceArgs]) -> Vector:
        return ctx.view.is_id(ctx.args.invoker).astype(np.float64)
