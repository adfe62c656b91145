"""Edge invokers: ``invokers`` (the namespace's devices) and ``invokers/tokens`` (their device
tokens: created and shown once, listed without secrets, revoked — which also closes that
invoker's live tunnel at once)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from .transport import Transport


class Tokens:
    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def create(self, invoker_id: str) -> dict[str, Any]:
        """A new token bound to ``invoker_id``: ``{"id", "namespace", "token", ...}``."""
        return dict(self.transport.json("POST", "invokers/tokens", json={"id": invoker_id}))

    def list(self) -> list[dict[str, Any]]:
        body = self.transport.json("GET", "invokers/tokens")
        if isinstance(body, dict):  # tolerate {"tokens": [...]}
            body = body.get("tokens", [])
        return list(body)

    def revoke(self, invoker_id: str) -> dict[str, Any]:
        return dict(self.transport.json(
            "DELETE", f"invokers/tokens/{quote(invoker_id, safe='')}"))
