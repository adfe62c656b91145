"""Capability: ``policy.fn(capability=...)`` — the invoker has every listed capability.

Args: ``capabilities`` (one name or several). Hard: all of them; soft: the fraction it has.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import constraints
from ..plugin import Context, Plugin, as_names


class Capability(Plugin):
    NAME = constraints.CAPABILITY
    BOUNDS = (0.0, 1.0)

    def filter(self, ctx: Context) -> np.ndarray:
        return ctx.view.has_all("capability", as_names(ctx.args["capabilities"]))

    def score(self, ctx: Context) -> np.ndarray:
        wanted = as_names(ctx.args["capabilities"])
        if not wanted:
            return np.ones(ctx.view.size)
        return ctx.view.count("capability", wanted) / len(wanted)

    def explain(self, args: Mapping[str, Any]) -> str:
        return f"without capability {'+'.join(as_names(args['capabilities']))}"
