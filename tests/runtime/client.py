"""A minimal HTTP client for the runtime endpoints, plus log helpers used by the tests."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

SENTINEL = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX"


def exchange(url: str, path: str, body: bytes,
             timeout: float = 120) -> tuple[int, Any, dict[str, str]]:
    """POST ``body``; returns (status, parsed JSON or text, the response headers)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request("POST", path, body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    headers = dict(response.getheaders())
    try:
        return response.status, json.loads(data), headers
    except ValueError:
        return response.status, data.decode("utf-8", "replace"), headers


def post(url: str, path: str, body: bytes, timeout: float = 120) -> tuple[int, Any]:
    """POST ``body``; returns (status, parsed JSON or text)."""
    status, parsed, _ = exchange(url, path, body, timeout)
    return status, parsed


def init(url: str, value: dict[str, Any] | None = None, raw: Any = None) -> tuple[int, Any]:
    """POST /init with ``{"value": value}`` (or the document ``raw`` as it is)."""
    doc = raw if raw is not None else {"value": value}
    return post(url, "/init", json.dumps(doc).encode())


def run(url: str, value: Any = None, **fields: Any) -> tuple[int, Any]:
    return post(url, "/run", json.dumps({"value": {} if value is None else value,
                                         **fields}).encode())


def filtered(text: str) -> str:
    """A stream without its sentinel lines, trimmed (upstream checkStreams' ``filtered``)."""
    return text.replace(SENTINEL, "").strip()


def sentinels(text: str) -> int:
    return text.count(SENTINEL)


def settled_logs(target: Any, ready: Callable[[str, str], bool],
                 timeout: float = 15.0) -> tuple[str, str]:
    """The target's (stdout, stderr) once ``ready`` holds for them, or as they are at timeout.

    Container logs reach the engine asynchronously (as they do for an invoker, which waits
    for the sentinels), so a check reads them when they have settled, not an instant after
    the response.
    """
    end = time.monotonic() + timeout
    while True:
        out, err = target.stdout(), target.stderr()
        if ready(out, err) or time.monotonic() > end:
            return out, err
        time.sleep(0.05)
