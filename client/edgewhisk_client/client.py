"""``Client``: the one Python client of the controller's REST API.

OpenWhisk's ``/api/v1/namespaces/{ns}/...`` (actions, activations) plus edgewhisk's own
(artifacts, invoker tokens, preload, namespaces and their keys), synchronous, over one
``requests.Session``. Typed calls are grouped by collection (``client.actions.invoke(...)``,
``client.artifacts.download(...)``, ``client.tokens.create(...)``) and raise the errors of
:mod:`.exceptions`; ``request`` gives the raw answer with the same URL rules, for callers that
look at status codes themselves (tests).

Why no async twin: the callers that live on an event loop (the tunnel tests, the benches'
load generators) either call this client from a thread or only need the URL and key of a call
(:meth:`Transport.url`, ``auth``) to time it with their own HTTP client.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType
from typing import Any
from urllib.parse import quote

from .actions import Actions
from .activations import Activations
from .artifacts import Artifacts
from .invokers import Tokens
from .namespaces import Namespaces
from .transport import OWN_NAMESPACE, TIMEOUT_S, Transport


class Client(Transport):
    """One controller, one key (``uuid:key``; None sends no credentials)."""

    def __init__(self, api_host: str, auth: str | None, *, namespace: str = OWN_NAMESPACE,
                 ca_file: str | None = None, timeout_s: float = TIMEOUT_S) -> None:
        super().__init__(api_host, auth, namespace=namespace, ca_file=ca_file,
                         timeout_s=timeout_s)
        self.activations = Activations(self)
        self.actions = Actions(self, self.activations)
        self.artifacts = Artifacts(self)
        self.tokens = Tokens(self)
        self.namespace_keys = Namespaces(self)

    def namespaces(self) -> list[str]:
        """The namespaces the key may use (one per key here, as OpenWhisk's guest)."""
        return self.namespace_keys.mine()

    def invokers(self) -> list[dict[str, Any]]:
        """Every invoker the namespace may use, the controller's own (``where: local``) and
        its edge invokers (``where: tunnel``), as the controller sees them."""
        return list(self.json("GET", "invokers"))

    def invoker_logs(self, invoker_id: str, *, tail: int = 100,
                     follow: bool = False) -> Iterator[str]:
        """The edge agent's own log lines, through its tunnel; ``follow``: go on as they
        come (across the device's reconnects) until it goes offline or the caller stops."""
        params = {"tail": str(tail), "follow": "true" if follow else "false"}
        response = self.call("GET", f"invokers/{quote(invoker_id, safe='')}/logs",
                             params=params, stream=True, timeout=None if follow else
                             self.timeout_s)
        with response:
            for line in response.iter_lines(decode_unicode=True):
                yield line if isinstance(line, str) else line.decode()

    def metrics(self) -> str:
        """The controller's Prometheus exposition (``GET /metrics``, open like ``/ping``)."""
        return self.call("GET", "/metrics").text

    def ready(self) -> dict[str, Any]:
        """``GET /ready``: ``{"status", "checks"}``, whatever the status (503: not ready)."""
        return dict(self.request("GET", "/ready").json())

    def __enter__(self) -> Client:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()
