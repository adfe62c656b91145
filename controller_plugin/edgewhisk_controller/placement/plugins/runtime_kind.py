"""RuntimeKind: the invoker must offer the action's exec kind. Args: ``kind``."""

from __future__ import annotations

from ..constraints import RUNTIME_KIND, RuntimeKindArgs
from ..plugin import Context, Filter
from ..state import Mask


class RuntimeKind(Filter[RuntimeKindArgs]):
    NAME = RUNTIME_KIND

    def filter(self, ctx: Context[RuntimeKindArgs]) -> Mask:
        return ctx.view.has_any("kind", (ctx.args.kind,))

    def explain(self, args: RuntimeKindArgs) -> str:
        return f"without kind {args.kind!r}"
