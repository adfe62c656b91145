"""Activations: ``activations[/{id}]`` — the records, and waiting for one to be recorded.

:class:`Activation` is a record as the controller answered it plus the client's round trip,
so a caller reads ``id``, ``result``, ``success`` and annotations without digging in dicts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from .exceptions import NotRecorded
from .transport import Transport, refusal


@dataclass(frozen=True)
class Activation:
    """One activation record (``status``: the HTTP status that carried it; ``round_trip_s``:
    from the invoke to the record, polling included)."""

    record: dict[str, Any]
    status: int = 200
    round_trip_s: float = 0.0

    @property
    def id(self) -> str:
        return str(self.record["activationId"])

    @property
    def response(self) -> dict[str, Any]:
        return dict(self.record.get("response") or {})

    @property
    def success(self) -> bool:
        return bool(self.response.get("success"))

    @property
    def result(self) -> dict[str, Any]:
        return dict(self.response.get("result") or {})

    @property
    def logs(self) -> list[str]:
        return list(self.record.get("logs") or [])

    def annotation(self, key: str) -> Any:
        """The value of the record's annotation ``key`` (None when absent)."""
        return next((a["value"] for a in self.record.get("annotations", [])
                     if a.get("key") == key), None)


def _path(activation_id: str) -> str:
    return f"activations/{quote(activation_id, safe='')}"


class Activations:
    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def pending(self) -> list[dict[str, Any]]:
        """The namespace's activations waiting to be placed (``policy.wait``), oldest first,
        each with what it waits for and until when (an edgewhisk addition)."""
        return list(self.transport.json("GET", "activations", params={"status": "pending"}))

    def get(self, activation_id: str) -> dict[str, Any]:
        return dict(self.transport.json("GET", _path(activation_id)))

    def result(self, activation_id: str) -> dict[str, Any]:
        """The record's ``response`` (``{"status", "statusCode", "success", "result"}``)."""
        return dict(self.transport.json("GET", f"{_path(activation_id)}/result"))

    def logs(self, activation_id: str) -> list[str]:
        """The record's log lines."""
        return list(self.transport.json("GET", f"{_path(activation_id)}/logs")["logs"])

    def list(self, *, limit: int | None = None, skip: int | None = None,
             **filters: Any) -> list[dict[str, Any]]:
        """Newest first, as OpenWhisk lists them (``name=``, ``since=``... as filters)."""
        params = {k: v for k, v in {"limit": limit, "skip": skip, **filters}.items()
                  if v is not None}
        return list(self.transport.json("GET", "activations", params=params))

    def cancel(self, activation_id: str) -> dict[str, Any]:
        """Cancel a pending activation: its record (a whisk error saying so)."""
        return dict(self.transport.json("DELETE", _path(activation_id)))

    def wait(self, activation_id: str, timeout_s: float = 60.0,
             every_s: float = 0.1) -> dict[str, Any]:
        """Poll until the record exists (202, accepted and still running, or a 404 from a
        controller that writes records behind its answers: not yet); :class:`NotRecorded`
        after ``timeout_s``; any other refusal raises at once."""
        deadline = time.monotonic() + timeout_s
        path = _path(activation_id)
        while time.monotonic() < deadline:
            response = self.transport.request("GET", path)
            if response.status_code == 200:
                return dict(response.json())
            if response.status_code not in (202, 404):
                raise refusal("GET", response)
            time.sleep(every_s)
        raise NotRecorded(activation_id, timeout_s)
