"""The /run middleware pipeline: ``async (activation, call_next) -> result`` stages.

The stack is declared as one list (:func:`edgewhisk_runtime.server.default_stages`) and
folded once at start-up by :func:`compose`; error mapping is always the outermost stage.

Stages, one module each:

- :mod:`.errors`  — maps the typed exceptions of :mod:`edgewhisk_runtime.exceptions` to
  status + ``{"error"}`` (the only place that does);
- :mod:`.metrics` — times the activation (result unchanged, timings on the activation);
- :mod:`.binding` — binds the edgewhisk SDK: resolves consumed artifacts through a Resolver
  before the call, hands produced ones to a Sink after it.
"""

from __future__ import annotations

from collections.abc import Sequence

from edgewhisk_runtime.activation import Activation, Handler, Middleware, Result


def _link(stage: Middleware, call_next: Handler) -> Handler:
    async def handler(activation: Activation) -> Result:
        return await stage(activation, call_next)

    return handler


def compose(stages: Sequence[Middleware], endpoint: Handler) -> Handler:
    """Fold ``stages`` around ``endpoint``; the first stage is the outermost."""
    handler = endpoint
    for stage in reversed(stages):
        handler = _link(stage, handler)
    return handler


__all__ = ["compose"]
