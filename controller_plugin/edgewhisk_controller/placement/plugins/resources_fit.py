"""ResourcesFit: the action's memory limit fits the invoker. Args: ``memory_mb``.

Why total memory by default (``queue_when_full``): a busy container pool queues the activation
or evicts idle containers, which beats refusing it; the free memory then only steers the
choice (BalancedLoad). With ``queue_when_full`` false the filter asks for free memory now
and becomes dynamic.
"""

from __future__ import annotations

from ..constraints import RESOURCES_FIT, ResourcesFitArgs
from ..plugin import Context, RowFilter, RowFiltered
from ..state import Mask


class ResourcesFit(RowFiltered[ResourcesFitArgs]):
    NAME = RESOURCES_FIT

    @property
    def dynamic(self) -> bool:
        return not self.config.queue_when_full

    @property
    def column(self) -> str:
        return "memory_mb" if self.config.queue_when_full else "free_memory_mb"

    def filter(self, ctx: Context[ResourcesFitArgs]) -> Mask:
        return ctx.view.col(self.column) >= ctx.args.memory_mb

    def row_filter(self, ctx: Context[ResourcesFitArgs]) -> RowFilter:
        memory, need = ctx.view.state.cols[self.column], ctx.args.memory_mb
        return lambda row, at: bool(memory.item(row) >= need)

    def explain(self, args: ResourcesFitArgs) -> str:
        free = "" if self.config.queue_when_full else "free "
        return f"with too little {free}memory (needs {args.memory_mb} MB)"
