"""RuntimeKind: the invoker must offer the action's exec kind. Args: ``kind``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import constraints
from ..plugin import Context, Plugin


class RuntimeKind(Plugin):
    NAME = constraints.RUNTIME_KIND

    def filter(self, ctx: Context) -> np.ndarray:
        return ctx.view.has_any("kind", (ctx.args["kind"],))

    def explain(self, args: Mapping[str, Any]) -> str:
        return f"without kind {args['kind']!r}"
