"""NetworkMembership: ``policy.data(network=[...])`` — a member of at least one network.

Args: ``networks``. Hard when strict; soft scores members 1 and others 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import constraints
from ..plugin import Context, Plugin, as_names


class NetworkMembership(Plugin):
    NAME = constraints.NETWORK_MEMBERSHIP
    BOUNDS = (0.0, 1.0)

    def filter(self, ctx: Context) -> np.ndarray:
        return ctx.view.has_any("network", as_names(ctx.args["networks"]))

    def rows(self, ctx: Context) -> np.ndarray:
        return ctx.view.rows_with_any("network", as_names(ctx.args["networks"]))

    def score(self, ctx: Context) -> np.ndarray:
        return self.filter(ctx).astype(np.float64)

    def explain(self, args: Mapping[str, Any]) -> str:
        return f"not in network {' or '.join(as_names(args['networks']))}"
