"""Live updates for the console: stored activation records as server-sent events.

Why server-sent events: the console only listens (a WebSocket would be two-way for nothing),
the browser reconnects by itself, and aiohttp streams them as a plain response. ``Events``
hears every stored record (``Dispatcher.on_record``) and hands each subscriber the records
of its namespace, as small summaries (never a result or a log line).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from aiohttp import web

QUEUE = 256
"""Summaries a slow subscriber may fall behind by; older ones are dropped for it."""


def summary(record: Mapping[str, Any]) -> dict[str, Any]:
    """What a page row shows of a record."""
    annotations = {a.get("key"): a.get("value") for a in record.get("annotations") or ()}
    response = record.get("response") or {}
    return {"activationId": record.get("activationId"), "name": record.get("name"),
            "namespace": record.get("namespace"), "status": response.get("status"),
            "invoker": annotations.get("invoker") or "", "start": record.get("start"),
            "duration": record.get("duration")}


CLOSED: dict[str, Any] = {}
"""What a subscriber gets once the controller shuts down: its stream ends (the one item that is
no summary; compared by identity)."""


class Events:
    def __init__(self) -> None:
        self.subscribers: dict[asyncio.Queue[dict[str, Any]], str] = {}

    def recorded(self, record: Mapping[str, Any]) -> None:
        """A record was stored: queue its summary for the subscribers of its namespace."""
        if not self.subscribers:
            return
        item = summary(record)
        for queue, namespace in self.subscribers.items():
            if namespace == item["namespace"]:
                if queue.full():
                    queue.get_nowait()
                queue.put_nowait(item)

    def subscribe(self, namespace: str) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE)
        self.subscribers[queue] = namespace
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self.subscribers.pop(queue, None)

    async def close(self, app: web.Application | None = None) -> None:
        """``on_shutdown``: every stream ends now. An open one kept aiohttp's shutdown waiting
        for its handler, until a write to the closed socket failed (logged as a 500)."""
        for queue in self.subscribers:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(CLOSED)


EVENTS = web.AppKey("console_events", Events)
