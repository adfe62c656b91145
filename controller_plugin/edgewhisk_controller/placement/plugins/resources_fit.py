"""ResourcesFit: the action's memory limit fits the invoker. Args: ``memory_mb``.

Why total memory by default (``queue_when_full``): a busy container pool queues the activation
or evicts idle containers, which beats refusing it; the free memory then only steers the
choice (BalancedLoad). With ``queue_when_full`` false the filter asks for free memory now
and becomes dynamic.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import constraints
from ..plugin import Context, Plugin, RowFilter


class ResourcesFit(Plugin):
    NAME = constraints.RESOURCES_FIT

    @property
    def dynamic(self) -> bool:
        return not self.config.queue_when_full

    def filter(self, ctx: Context) -> np.ndarray:
        column = "memory_mb" if self.config.queue_when_full else "free_memory_mb"
        return ctx.view.col(column) >= ctx.args["memory_mb"]

    def row_filter(self, ctx: Context) -> RowFilter:
        column = "memory_mb" if self.config.queue_when_full else "free_memory_mb"
        memory, need = ctx.view.state.cols[column], ctx.args["memory_mb"]
        return lambda row, at: bool(memory.item(row) >= need)

    def explain(self, args: Mapping[str, Any]) -> str:
        free = "" if self.config.queue_when_full else "free "
        return f"with too little {free}memory (needs {args['memory_mb']} MB)"
