"""The agent's errors.

    InvokerError                 anything the agent reports and exits on (exit status 2 or 3)
    ├── ConfigError              bad flags: a ws:// controller that is not loopback, a bad URL...
    ├── Fatal                    the controller refuses this device for good; retrying cannot help
    │   ├── TokenRejected        HTTP 401/403 at the handshake, or the token revoked while connected
    │   ├── Replaced             another agent registered the same invoker id
    │   ├── Refused              the controller closed the connection before ``registered``
    │   │                        with a policy reason (e.g. the token is bound to another id)
    │   └── TlsFailure           the controller's certificate did not verify (see --ca-file)
    ├── ApiError                 a REST call to the controller failed (``invoker token ...``)
    └── LocalApiError            the local invoke API refuses a request (``status``; the
        │                        controller's own texts, see ``local_api.py``)
        ├── Unauthorized         401: no local key, or a wrong one
        ├── Forbidden            403: another namespace's action
        ├── BadRequest           400: malformed JSON, parameters that are not an object...
        ├── NotFound             404: no such route
        ├── PayloadTooLarge      413: a body over 1 MiB
        └── Unavailable          503: cut off, and the device cannot run it: names what is missing

Connection losses are not errors: the agent reconnects with backoff (:mod:`.backoff`).
"""

from __future__ import annotations


class InvokerError(Exception):
    """Base of the agent's errors; ``str()`` is the message shown to the user."""


class ConfigError(InvokerError):
    pass


class Fatal(InvokerError):
    pass


class TokenRejected(Fatal):
    pass


class Replaced(Fatal):
    pass


class Refused(Fatal):
    pass


class TlsFailure(Fatal):
    pass


class OldController(Fatal):
    """The controller refused this agent's tunnel protocol version (it is older)."""


class ApiError(InvokerError):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class LocalApiError(InvokerError):
    """A refusal of the local invoke API: ``status`` and the message of its ``{"error"}``."""

    status = 500
    default_message = "An internal error occurred."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message


# The controller's texts for the same refusals (edgewhisk_controller.exceptions; a test
# compares the two APIs' answers).
class Unauthorized(LocalApiError):
    status = 401
    default_message = "The supplied authentication is invalid."


class Forbidden(LocalApiError):
    status = 403
    default_message = "The supplied authentication is not authorized to access this resource."


class BadRequest(LocalApiError):
    status = 400
    default_message = "The request content was malformed."


class NotFound(LocalApiError):
    status = 404
    default_message = "The requested resource does not exist."


class PayloadTooLarge(LocalApiError):
    status = 413
    default_message = "The request content was too large."


class Unavailable(LocalApiError):
    status = 503
    default_message = "No invoker is available to run the activation."
