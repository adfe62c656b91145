"""NodeSelector: ``policy.fn(node=X)`` — run on invokers X names (hard or preferred).

X matches an invoker when it equals its id, its role (``cloud``/``edge``), ``<owner>_device``
for a device its owner registered, or one of its labels written ``k=v``. Args: ``node`` (one
name, or several: any may match). The score is 1 for a match, 0 otherwise.
"""

from __future__ import annotations

import numpy as np

from ..constraints import NODE_SELECTOR, NodeSelectorArgs, as_names
from ..plugin import Context, Indexed, Score
from ..state import ROLES, Mask, Rows, Vector, View, union

DEVICE_SUFFIX = "_device"


def matches(view: View, name: str) -> Mask:
    mask = view.is_id(name) | view.has_any("label", (name,))
    if name in ROLES:
        mask |= view.col("role") == ROLES.index(name)
    if name.endswith(DEVICE_SUFFIX):
        mask |= view.has_any("owner", (name[: -len(DEVICE_SUFFIX)],))
    return mask


def matching_rows(view: View, name: str) -> Rows | None:
    """The rows ``name`` matches, from the member indexes (None for a role: most rows)."""
    if name in ROLES:
        return None
    found = [view.rows_with_any("label", (name,))]
    if name.endswith(DEVICE_SUFFIX):
        found.append(view.rows_with_any("owner", (name[: -len(DEVICE_SUFFIX)],)))
    row = view.state.index.get(name)
    if row is not None:
        found.append(np.array([row], np.intp))
    return union(found)


class NodeSelector(Indexed[NodeSelectorArgs], Score[NodeSelectorArgs]):
    NAME = NODE_SELECTOR
    BOUNDS = (0.0, 1.0)

    def filter(self, ctx: Context[NodeSelectorArgs]) -> Mask:
        mask = np.zeros(ctx.view.size, np.bool_)
        for name in as_names(ctx.args.node):
            mask |= matches(ctx.view, name)
        return mask

    def rows(self, ctx: Context[NodeSelectorArgs]) -> Rows | None:
        found = []
        for name in as_names(ctx.args.node):
            rows = matching_rows(ctx.view, name)
            if rows is None:
                return None
            found.append(rows)
        return union(found)

    def score(self, ctx: Context[NodeSelectorArgs]) -> Vector:
        return self.filter(ctx).astype(np.float64)

    def explain(self, args: NodeSelectorArgs) -> str:
        return f"not matching node {' or '.join(as_names(args.node))}"
