"""NamespaceAccess: an invoker dedicated to some namespaces runs only their activations.

Args: ``namespace``. Invokers registered with ``namespaces=None`` serve every namespace.
"""

from __future__ import annotations

from ..constraints import NAMESPACE_ACCESS, NamespaceAccessArgs
from ..plugin import Context, Filter
from ..state import OPEN_NAMESPACE, Mask


class NamespaceAccess(Filter[NamespaceAccessArgs]):
    NAME = NAMESPACE_ACCESS

    def filter(self, ctx: Context[NamespaceAccessArgs]) -> Mask:
        return ctx.view.has_any("namespace", (OPEN_NAMESPACE, ctx.args.namespace))

    def explain(self, args: NamespaceAccessArgs) -> str:
        return f"not serving namespace {args.namespace!r}"
