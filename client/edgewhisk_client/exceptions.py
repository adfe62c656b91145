"""The client's errors: one tree, so a caller catches exactly what it can handle.

    ClientError                  anything the client reports
    ├── Unreachable              no HTTP answer: refused, reset, timed out, unknown host
    │   └── TlsError             the controller's certificate did not verify (trust its CA
    │                            with ``ca_file`` / ``--ca-file``)
    ├── HttpError                the controller answered 4xx/5xx: ``status``, ``error`` (the
    │                            body's ``error``, else its text or the reason), ``body``
    ├── NotRecorded              a polled activation was not recorded within the time given
    ├── DigestMismatch           a download's bytes do not have the sha256 the controller sent
    │                            (nothing was written)
    └── NotConfigured            no API host or key: neither given nor in ``~/.wskprops``
                                 (a usage error: nothing was sent)

Why typed and not ``requests``' own: callers (the CLI, the agent's token commands, the demo,
the benches, the tests) print or assert on these, and none of them should have to know which
HTTP library sits underneath.
"""

from __future__ import annotations

from typing import Any


class ClientError(Exception):
    """Base of the client's errors; ``str()`` is one line for a human."""


class Unreachable(ClientError):
    """The controller gave no HTTP answer (``str()`` names the URL and the cause)."""


class TlsError(Unreachable):
    """The TLS handshake failed: the controller's certificate is not trusted."""


class HttpError(ClientError):
    """The controller refused a request: ``status``, ``error`` (its message), ``body``."""

    def __init__(self, method: str, url: str, status: int, error: str, body: Any = None) -> None:
        super().__init__(f"{error} (HTTP {status})")
        self.method = method
        self.url = url
        self.status = status
        self.error = error
        self.body = body


class NotRecorded(ClientError):
    """An activation was not recorded in time (a blocking invoke that answered 202, or a
    non-blocking one being waited for)."""

    def __init__(self, activation_id: str, timeout_s: float) -> None:
        super().__init__(f"activation {activation_id} was not recorded within {timeout_s:g} s")
        self.activation_id = activation_id
        self.timeout_s = timeout_s


class DigestMismatch(ClientError):
    """Downloaded bytes differ from the digest the controller announced."""


class NotConfigured(ClientError):
    """Neither the flags nor the properties file say where the controller is, or the key."""
