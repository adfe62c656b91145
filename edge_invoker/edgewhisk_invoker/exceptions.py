"""The agent's errors.

    InvokerError                 anything the agent reports and exits on (exit status 2 or 3)
    ├── ConfigError              bad flags: a ws:// controller that is not loopback, a bad URL...
    ├── Fatal                    the controller refuses this device for good; retrying cannot help
    │   ├── TokenRejected        HTTP 401/403 at the handshake, or the token revoked while connected
    │   ├── Replaced             another agent registered the same invoker id
    │   ├── Refused              the controller closed the connection before ``registered``
    │   │                        with a policy reason (e.g. the token is bound to another id)
    │   └── TlsFailure           the controller's certificate did not verify (see --ca-file)
    └── ApiError                 a REST call to the controller failed (``invoker token ...``)

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


class ApiError(InvokerError):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
