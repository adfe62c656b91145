"""Device tokens through the controller's REST API (``edgewhisk invoker token ...``).

The endpoints (controller side, ``edgewhisk_controller.tunnel.tokens``):
``POST .../invokers/tokens {"id": ...}`` -> the token, shown once;
``GET`` the same path -> the tokens of the namespace (no secrets);
``DELETE .../tokens/{id}`` -> revoked, and that invoker's live tunnel closed at once.
Authentication is the namespace's API key (HTTP basic ``uuid:key``), as for every other call.
The calls are :class:`edgewhisk_client.Client`'s; this module only turns its errors into the
agent's :class:`ApiError` (the CLI prints it and exits 1).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from edgewhisk_client import Client, ClientError, HttpError

from .exceptions import ApiError

T = TypeVar("T")
TIMEOUT_S = 30.0


class TokenApi:
    def __init__(self, api_url: str, auth: str, namespace: str, *,
                 ca_file: str | None = None) -> None:
        self.client = Client(api_url, auth, namespace=namespace, ca_file=ca_file,
                             timeout_s=TIMEOUT_S)

    def create(self, invoker_id: str) -> dict[str, Any]:
        return _answer(self.client.tokens.create, invoker_id)

    def list(self) -> list[dict[str, Any]]:
        return _answer(self.client.tokens.list)

    def revoke(self, invoker_id: str) -> dict[str, Any]:
        return _answer(self.client.tokens.revoke, invoker_id)

    def close(self) -> None:
        self.client.close()


def _answer(call: Callable[..., T], *args: Any) -> T:
    """``call(*args)``; the client's errors as :class:`ApiError` (status kept when refused)."""
    try:
        return call(*args)
    except HttpError as exc:
        raise ApiError(f"{exc.method} {exc.url}: HTTP {exc.status}: {exc.error}",
                       exc.status) from None
    except ClientError as exc:
        raise ApiError(str(exc)) from None
