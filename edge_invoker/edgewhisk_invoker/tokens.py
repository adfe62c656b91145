"""Device tokens through the controller's REST API (``edgewhisk invoker token ...``).

The endpoints (controller side, ``edgewhisk_controller.tunnel.tokens``):
``POST /api/v1/namespaces/{ns}/invokers/tokens {"id": ...}`` -> the token, shown once;
``GET`` the same path -> the tokens of the namespace (no secrets);
``DELETE .../tokens/{id}`` -> revoked, and that invoker's live tunnel closed at once.
Authentication is the namespace's API key (HTTP basic ``uuid:key``), as for every other call.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests

from .exceptions import ApiError

TIMEOUT_S = 30.0


class TokenApi:
    def __init__(self, api_url: str, auth: str, *, ca_file: str | None = None) -> None:
        user, _, key = auth.partition(":")
        self.api_url = api_url.rstrip("/")
        self.session = requests.Session()
        self.session.auth = (user, key)
        # Per request, not ``session.verify``: requests lets $REQUESTS_CA_BUNDLE override a
        # session's setting, which would silently ignore --ca-file.
        self.verify: str | bool = ca_file if ca_file else True

    def url(self, namespace: str, token_id: str | None = None) -> str:
        base = f"{self.api_url}/api/v1/namespaces/{quote(namespace, safe='')}/invokers/tokens"
        return base if token_id is None else f"{base}/{quote(token_id, safe='')}"

    def _call(self, method: str, url: str, **kwargs: Any) -> Any:
        try:
            response = self.session.request(method, url, timeout=TIMEOUT_S, verify=self.verify,
                                            **kwargs)
        except requests.exceptions.SSLError as exc:
            raise ApiError(f"TLS to {self.api_url} failed: {exc} (trust its CA with "
                           f"--ca-file)") from None
        except requests.RequestException as exc:
            raise ApiError(f"cannot reach the controller at {self.api_url}: {exc}") from None
        try:
            body = response.json() if response.content else {}
        except ValueError:
            body = {"error": response.text.strip()[:300]}
        if response.status_code >= 400:
            message = body.get("error") if isinstance(body, dict) else None
            raise ApiError(f"{method} {url}: HTTP {response.status_code}: "
                           f"{message or response.reason}", response.status_code)
        return body

    def create(self, namespace: str, invoker_id: str) -> dict[str, Any]:
        body: dict[str, Any] = self._call("POST", self.url(namespace), json={"id": invoker_id})
        return body

    def list(self, namespace: str) -> list[dict[str, Any]]:
        body = self._call("GET", self.url(namespace))
        if isinstance(body, dict):  # tolerate {"tokens": [...]}
            body = body.get("tokens", [])
        return list(body)

    def revoke(self, namespace: str, invoker_id: str) -> dict[str, Any]:
        body: dict[str, Any] = self._call("DELETE", self.url(namespace, invoker_id))
        return body

    def close(self) -> None:
        self.session.close()
