"""NamespaceAccess: an invoker dedicated to some namespaces runs only their activations.

Args: ``namespace``. Invokers registered with ``namespaces=None`` serve every namespace.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import constraints
from ..plugin import Context, Plugin
from ..state import OPEN_NAMESPACE


class NamespaceAccess(Plugin):
    NAME = constraints.NAMESPACE_ACCESS

    def filter(self, ctx: Context) -> np.ndarray:
        return ctx.view.has_any("namespace", (OPEN_NAMESPACE, ctx.args["namespace"]))

    def explain(self, args: Mapping[str, Any]) -> str:
        return f"not serving namespace {args['namespace']!r}"
