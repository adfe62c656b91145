"""Actions: ``actions[/{name}]`` — deploy, read, delete, invoke (blocking or not).

A blocking invoke answers the record (200, or 502/500 when the action or the platform failed,
as OpenWhisk does) or, when the activation outlives the controller's blocking wait, ``202``
with its id; :meth:`Actions.invoke` then polls the record, so a caller always gets one.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

from .activations import Activation, Activations
from .transport import Transport, refusal

INVOKE_WAIT_S = 300.0
"""How long a blocking invoke may take, polling included (the controller answers 202 after
60 s, so the request itself must be allowed longer than that)."""


def _path(name: str) -> str:
    return f"actions/{quote(name, safe='/@')}"


class Actions:
    def __init__(self, transport: Transport, activations: Activations) -> None:
        self.transport = transport
        self.activations = activations

    def list(self, *, limit: int | None = None, skip: int | None = None) -> list[dict[str, Any]]:
        """The namespace's actions without their code, by name (OpenWhisk pages by
        ``limit``, default 30, and ``skip``)."""
        params = {k: v for k, v in (("limit", limit), ("skip", skip)) if v is not None}
        return list(self.transport.json("GET", "actions", params=params))

    def get(self, name: str) -> dict[str, Any]:
        return dict(self.transport.json("GET", _path(name)))

    def put(self, name: str, document: dict[str, Any], *,
            overwrite: bool = True) -> dict[str, Any]:
        """``PUT actions/NAME`` (``overwrite=true`` by default, as ``wsk action update``);
        the stored entity."""
        params = {"overwrite": "true"} if overwrite else {}
        return dict(self.transport.json("PUT", _path(name), params=params, json=document))

    def delete(self, name: str) -> dict[str, Any]:
        return dict(self.transport.json("DELETE", _path(name)))

    def start(self, name: str, params: dict[str, Any] | None = None) -> str:
        """A non-blocking invoke; the new activation's id."""
        answer = self.transport.json("POST", _path(name), json=params or {})
        return str(answer["activationId"])

    def invoke(self, name: str, params: dict[str, Any] | None = None, *,
               wait_s: float = INVOKE_WAIT_S) -> Activation:
        """A blocking invoke; its record, polled for if the controller answered 202.

        A failed activation is still an answer (check ``success``); a refusal without a
        record (404, 400, ...) raises :class:`HttpError`.
        """
        started = time.perf_counter()
        response = self.transport.request("POST", _path(name), params={"blocking": "true"},
                                          json=params or {}, timeout=wait_s)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or "activationId" not in body:
            raise refusal("POST", response)
        if response.status_code == 202:
            left = max(0.0, wait_s - (time.perf_counter() - started))
            record = self.activations.wait(str(body["activationId"]), left, every_s=0.2)
            return Activation(record, 200, time.perf_counter() - started)
        if "response" not in body:
            raise refusal("POST", response)
        return Activation(body, response.status_code, time.perf_counter() - started)
