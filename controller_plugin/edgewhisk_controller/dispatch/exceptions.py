"""Errors the dispatcher raises; the API maps them once (``middleware/errors.py``).

Most failures of an activation are not exceptions: they are activation records (a developer
error, a whisk internal error when no invoker fits). These are for requests the dispatcher
cannot take at all.

Hierarchy (HTTP status in brackets)::

    ControllerError (edgewhisk_controller.exceptions)
    └── InvokeError                 [500]  base of the dispatcher's errors
        └── DispatcherClosed        [503]  the controller is shutting down

A stored action the dispatcher cannot read is ``schema.exceptions.CorruptedAction``: the
reading rules below the dispatcher raise it.
"""

from __future__ import annotations

from ..exceptions import ControllerError, ServiceUnavailable


class InvokeError(ControllerError):
    """Base of the dispatcher's errors."""


class DispatcherClosed(InvokeError, ServiceUnavailable):
    default_message = "The controller is shutting down; the activation was not started."
