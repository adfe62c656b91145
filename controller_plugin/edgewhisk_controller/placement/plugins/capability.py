"""Capability: ``policy.fn(capability=...)`` — the invoker has every listed capability.

Args: ``capabilities`` (one name or several). Hard: all of them; soft: the fraction it has.
"""

from __future__ import annotations

import numpy as np

from ..constraints import CAPABILITY, CapabilityArgs, as_names
from ..plugin import Context, Filter, Score
from ..state import Mask, Vector


class Capability(Filter[CapabilityArgs], Score[CapabilityArgs]):
    NAME = CAPABILITY
    BOUNDS = (0.0, 1.0)

    def filter(self, ctx: Context[CapabilityArgs]) -> Mask:
        return ctx.view.has_all("capability", as_names(ctx.args.capabilities))

    def score(self, ctx: Context[CapabilityArgs]) -> Vector:
        wanted = as_names(ctx.args.capabilities)
        if not wanted:
            return np.ones(ctx.view.size)
        return ctx.view.count("capability", wanted) / len(wanted)

    def explain(self, args: CapabilityArgs) -> str:
        return f"without capability {'+'.join(as_names(args.capabilities))}"
