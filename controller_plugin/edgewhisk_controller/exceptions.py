"""The controller's exceptions, mapped to HTTP in exactly one place (``middleware/errors.py``).

Hierarchy::

    ControllerError                     500  whisk internal error
    ├── BadRequest                      400  malformed JSON, invalid entity, bad annotation
    ├── Unauthorized                    401  no credentials, or a wrong key
    ├── Forbidden                       403  a key touching another namespace
    ├── NotFound                        404  unknown entity or route
    ├── MethodNotAllowed                405
    ├── RequestTimeout                  408  a request body that did not arrive in time
    ├── Conflict                        409  create without overwrite, stale revision
    ├── PayloadTooLarge                 413  request body or result over the limit
    ├── TooManyRequests                 429  concurrency or rate limit reached
    ├── BadGateway                      502  blocking invoke: application or developer error
    └── ServiceUnavailable              503  no invoker can take the activation right now

Expected outcomes are values elsewhere (an activation that failed is a record, not an
exception); these are for requests that cannot be answered as asked. ``message`` is what
the client sees in ``{"error": message, "code": transaction id}``.
"""

from __future__ import annotations

from typing import ClassVar


class ControllerError(Exception):
    """Base of every error the API answers with; ``status`` is its HTTP status."""

    status: ClassVar[int] = 500
    default_message: ClassVar[str] = "An internal error occurred."
    close_connection: ClassVar[bool] = False  # the answer closes it (a body left unread)

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        self.details: dict[str, object] = {}  # extra fields of the error body (e.g. candidates)
        super().__init__(self.message)


class BadRequest(ControllerError):
    status = 400
    default_message = "The request content was malformed."


class Unauthorized(ControllerError):
    status = 401
    default_message = "The supplied authentication is invalid."


class Forbidden(ControllerError):
    status = 403
    default_message = "The supplied authentication is not authorized to access this resource."


class NotFound(ControllerError):
    status = 404
    default_message = "The requested resource does not exist."


class MethodNotAllowed(ControllerError):
    status = 405
    default_message = "The requested method is not allowed on this resource."


class RequestTimeout(ControllerError):
    status = 408
    default_message = "The request body did not arrive in time."
    close_connection = True


class Conflict(ControllerError):
    status = 409
    default_message = "Concurrent modification to resource detected."


class PayloadTooLarge(ControllerError):
    status = 413
    default_message = "The request content was too large."


class TooManyRequests(ControllerError):
    status = 429
    default_message = "Too many requests in the last minute."


class BadGateway(ControllerError):
    status = 502
    default_message = "The action did not produce a valid response."


class ServiceUnavailable(ControllerError):
    status = 503
    default_message = "No invoker is available to run the activation."
