"""Errors the dispatcher raises; the API maps them once (``middleware/errors.py``).

Most failures of an activation are not exceptions: they are activation records (a developer
error, a whisk internal error when no invoker fits). These are for requests the dispatcher
cannot take at all.

Hierarchy (HTTP status in brackets)::

    ControllerError (edgewhisk_controller.exceptions)
    └── InvokeError                 [500]  base of the dispatcher's errors
        ├── DispatcherClosed        [503]  the controller is shutting down
        └── NotPending              [409]  cancelling an activation that does not wait

    PendingEnded                           a pending activation's wait ended unplaced (not
    ├── PendingExpired                     an API error: its record says why)
    └── PendingCancelled

A stored action the dispatcher cannot read is ``schema.exceptions.CorruptedAction``: the
reading rules below the dispatcher raise it.
"""

from __future__ import annotations

from typing import Any

from ..exceptions import Conflict, ControllerError, ServiceUnavailable


class InvokeError(ControllerError):
    """Base of the dispatcher's errors."""


class DispatcherClosed(InvokeError, ServiceUnavailable):
    default_message = "The controller is shutting down; the activation was not started."


class NotPending(InvokeError, Conflict):
    default_message = ("The activation is not pending: only an activation waiting to be "
                       "placed can be cancelled.")


class PendingEnded(Exception):
    """A pending activation's wait ended without a placement; ``info`` is what it waited
    for (``pending.Waiting.describe``)."""

    def __init__(self, info: dict[str, Any]) -> None:
        super().__init__(info.get("reason", ""))
        self.info = info


class PendingExpired(PendingEnded):
    """Its ``policy.wait`` ran out."""


class PendingCancelled(PendingEnded):
    """``DELETE .../activations/ID`` cancelled it."""
