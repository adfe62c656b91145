"""The audit log: every change of a namespace key or a device token, who made it.

Why one function: each change states the same facts (what happened, to which id, in which
namespace, by whom), and a secret is never one of them: callers pass names, never keys or
tokens, and ``audit`` refuses a field whose name says it is one.
"""

from __future__ import annotations

from typing import Any

from .logs import AUDIT, fields

SECRET_FIELDS = frozenset({"key", "token", "secret", "password", "auth"})


def audit(event: str, **details: Any) -> None:
    """Log ``event`` (``namespace.create``, ``token.create``, ``token.revoke``...)."""
    leaked = SECRET_FIELDS & set(details)
    assert not leaked, f"audit fields must not carry secrets: {sorted(leaked)}"
    words = " ".join(f"{k}={v}" for k, v in details.items())
    AUDIT.info("%s %s", event, words, extra=fields(event=event, **details))
