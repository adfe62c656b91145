"""NetworkMembership: ``policy.data(network=[...])`` — a member of at least one network.

Args: ``networks``. Hard when strict; soft scores members 1 and others 0.
"""

from __future__ import annotations

import numpy as np

from ..constraints import NETWORK_MEMBERSHIP, NetworkMembershipArgs, as_names
from ..plugin import Context, Indexed, Score
from ..state import Mask, Rows, Vector


class NetworkMembership(Indexed[NetworkMembershipArgs], Score[NetworkMembershipArgs]):
    NAME = NETWORK_MEMBERSHIP
    BOUNDS = (0.0, 1.0)

    def filter(self, ctx: Context[NetworkMembershipArgs]) -> Mask:
        return ctx.view.has_any("network", as_names(ctx.args.networks))

    def rows(self, ctx: Context[NetworkMembershipArgs]) -> Rows:
        return ctx.view.rows_with_any("network", as_names(ctx.args.networks))

    def score(self, ctx: Context[NetworkMembershipArgs]) -> Vector:
        return self.filter(ctx).astype(np.float64)

    def explain(self, args: NetworkMembershipArgs) -> str:
        return f"not in network {' or '.join(as_names(args.networks))}"
