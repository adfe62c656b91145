"""Namespaces and their keys: the admin API (``/api/v1/admin/namespaces``) and a key's own
rotation (``namespaces/_/key``).

Why a collection of its own: ``edgewhisk namespace list|create|delete|rotate-key`` manage a
running controller through its API (the controller's ``api/admin.py`` says who may). A key
in an answer is shown once: the controller keeps only its hash.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from .transport import API, NAMESPACES, Transport

ADMIN = f"{API}/admin/namespaces"


class Namespaces:
    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def mine(self) -> list[str]:
        """The namespaces the key may use (one per key here, as OpenWhisk's guest)."""
        return list(self.transport.json("GET", NAMESPACES))

    def list(self) -> list[dict[str, Any]]:
        """Every namespace, ``{"name", "uuid", "admin"}`` (an admin key only)."""
        return list(self.transport.json("GET", ADMIN))

    def create(self, name: str) -> dict[str, Any]:
        """A new namespace and its key: ``{"namespace", "key"}`` (an admin key only)."""
        return dict(self.transport.json("PUT", _admin_path(name)))

    def delete(self, name: str) -> dict[str, Any]:
        """Delete an empty namespace, its key and its activation records (admin only)."""
        return dict(self.transport.json("DELETE", _admin_path(name)))

    def rotate_key(self, name: str | None = None) -> dict[str, Any]:
        """A new secret for ``name``'s key (an admin key), or for the caller's own key
        (``None``): ``{"namespace", "key"}``; the old key stops working."""
        if name is None:
            return dict(self.transport.json("POST", "key"))
        return dict(self.transport.json("POST", _admin_path(name, "/key")))


def _admin_path(name: str, part: str = "") -> str:
    return f"{ADMIN}/{quote(name, safe='')}{part}"
