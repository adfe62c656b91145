"""Errors of the function preprocessor; the API maps them once (``middleware/errors.py``).

An invalid annotation never reaches the preprocessor (the API validates it when the action is
stored); what can still go wrong is an invocation that does not bind the action's variables.

Hierarchy (HTTP status in brackets)::

    ControllerError (edgewhisk_controller.exceptions)
    └── BadRequest                        [400]
        └── PreprocessError               [400]  base of the preprocessor's errors
            └── UnboundVariable           [400]  a ``{variable}`` neither bound by the
                                                 invocation's parameters nor fan-out-able,
                                                 or bound to a value that is not one path
                                                 segment; ``.variable`` names it
"""

from __future__ import annotations

from ..exceptions import BadRequest


class PreprocessError(BadRequest):
    """Base of the preprocessor's errors."""


class UnboundVariable(PreprocessError):
    """An invocation left a variable unbound (or bound it to an unusable value)."""

    def __init__(self, variable: str, message: str) -> None:
        self.variable = variable
        super().__init__(message)
