"""Error stage: the one place where exceptions become HTTP status and ``{"error": ...}``.

Why here and nowhere else: handlers and stages raise typed exceptions
(:mod:`edgewhisk_runtime.exceptions`), so a status code or message is decided once and the
/init handler (which is not an activation) reuses :func:`to_result` too.
"""

from __future__ import annotations

import traceback

from edgewhisk_runtime import logs
from edgewhisk_runtime.activation import Activation, Handler, Result
from edgewhisk_runtime.exceptions import RuntimeFailure


def to_result(exc: BaseException) -> Result:
    """Map an exception to its answer; anything unexpected is a 500 with its trace on stderr."""
    if isinstance(exc, RuntimeFailure):
        return Result(exc.status, {"error": exc.message})
    logs.stderr("".join(traceback.format_exception(exc)))
    return Result(500, {"error": f"internal runtime error: {type(exc).__name__}: {exc}"})


class ErrorsMiddleware:
    """Outermost stage: whatever happens inside, the invoker gets status + ``{"error"}``."""

    NAME = "errors"

    async def __call__(self, activation: Activation, call_next: Handler) -> Result:
        try:
            return await call_next(activation)
        except Exception as exc:
            return to_result(exc)
