"""The client of a device's local invoke API (``edgewhisk invoker --local-api SOCKET``).

Why in the REST client's package: the local API speaks the controller's invoke shape, so an
app, the demo, the benchmark and the tests call it the same way, through one client. It talks
HTTP over the unix socket with the standard library (``requests`` has no unix sockets), or over
loopback TCP when given a port; the key is the device's ``local.key`` (``uuid:secret``), sent as
OpenWhisk's Basic authorisation.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from .exceptions import Unreachable
from .transport import NAMESPACES, OWN_NAMESPACE

TIMEOUT_S = 120.0


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.socket_path)
        self.sock = sock


@dataclass(frozen=True)
class LocalAnswer:
    status: int
    body: Any           # the JSON answer (None when it was not JSON)
    headers: dict[str, str]

    @property
    def activation_id(self) -> str | None:
        body = self.body
        return body.get("activationId") if isinstance(body, dict) else None


class LocalClient:
    """Invokes through one device's local API (``socket_path``, or 127.0.0.1:``port``)."""

    def __init__(self, key: str | None, *, socket_path: str | None = None,
                 port: int | None = None, timeout_s: float = TIMEOUT_S) -> None:
        if (socket_path is None) == (port is None):
            raise ValueError("give exactly one of socket_path and port")
        self.key = key
        self.socket_path = socket_path
        self.port = port
        self.timeout_s = timeout_s

    def _connection(self) -> http.client.HTTPConnection:
        if self.socket_path is not None:
            return _UnixConnection(self.socket_path, self.timeout_s)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout_s)

    def request(self, method: str, path: str, body: bytes = b"",
                headers: dict[str, str] | None = None) -> LocalAnswer:
        """One raw request (``path`` from the root); what the device answered."""
        sent = {"Content-Type": "application/json", **(headers or {})}
        if self.key is not None and "Authorization" not in sent:
            sent["Authorization"] = "Basic " + base64.b64encode(self.key.encode()).decode()
        connection = self._connection()
        try:
            connection.request(method, path, body=body, headers=sent)
            answer = connection.getresponse()
            data = answer.read()
        except OSError as exc:
            where = self.socket_path or f"127.0.0.1:{self.port}"
            raise Unreachable(f"cannot reach the device's local API at {where}: {exc}") from None
        finally:
            connection.close()
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = None
        return LocalAnswer(answer.status, parsed, dict(answer.getheaders()))

    def invoke(self, name: str, params: dict[str, Any] | None = None, *,
               blocking: bool = True, result: bool = False,
               namespace: str = OWN_NAMESPACE) -> LocalAnswer:
        query = urlencode({"blocking": str(blocking).lower(), "result": str(result).lower()})
        path = f"{NAMESPACES}/{quote(namespace, safe='')}/actions/{name}?{query}"
        return self.request("POST", path, json.dumps(params or {}).encode())
