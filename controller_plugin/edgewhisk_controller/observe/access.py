"""The access log: one line per HTTP request, as the outermost middleware.

Why ours and not aiohttp's access logger: it runs after the auth middleware resolved the
namespace, so each line says who called, and it logs the path without the query string and
never a header, so no key, token or password reaches the log.

Why in batches: made one at a time, right after its answer, a line cost ~45 µs of the
controller's CPU (its ``LogRecord``, its format, its write: code that runs cold between two
requests), about 5 % of a blocking invoke; made together every ``FLUSH_S`` the same lines
cost ~17 µs each (docs/hotpath.md, sixth round). A request leaves only its facts and the time
of its answer; the batch makes each line with that time as its record's, so the lines, their
order and their timestamps are those of one line per request, written at most ``FLUSH_S``
later. ``flush`` runs when the application stops (``app.py``), so a stopped controller's log
holds every line; a killed one loses at most the last ``FLUSH_S`` of them.
"""

from __future__ import annotations

import asyncio
import logging
import time

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from ..keys import NAMESPACE
from .logs import ACCESS, fields

FLUSH_S = 0.05
"""How long a line may wait for its batch."""
BATCH_MAX = 512
"""A batch this long is written at once (memory stays bounded under any load)."""
MESSAGE = "%s %s %d %.1f ms %s"

_Line = tuple[float, str, str, int, float, str, str]
"""created, method, path, status, ms, namespace, remote"""


class AccessLog:
    """The lines of answered requests not written yet; written on the event loop's thread."""

    def __init__(self) -> None:
        self._lines: list[_Line] = []
        self._timer: asyncio.TimerHandle | None = None

    def add(self, request: web.Request, status: int, start: float) -> None:
        """``request``'s line, answered ``status``, begun at ``start`` (``perf_counter``)."""
        if not ACCESS.isEnabledFor(logging.INFO):
            return
        ms = round((time.perf_counter() - start) * 1000, 3)
        self._lines.append((time.time(), request.method, request.path, status, ms,
                            request.get(NAMESPACE, ""), request.remote or ""))
        if len(self._lines) >= BATCH_MAX:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(FLUSH_S, self.flush)

    def flush(self) -> None:
        """Every waiting line to the access logger, oldest first."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        lines, self._lines = self._lines, []
        for created, method, path, status, ms, ns, remote in lines:
            record = ACCESS.makeRecord(
                ACCESS.name, logging.INFO, "(unknown file)", 0, MESSAGE,
                (method, path, status, ms, ns), None,
                extra=fields(method=method, path=path, status=status, ms=ms, namespace=ns,
                             remote=remote))
            record.created = created  # the answer's time, not the batch's
            record.msecs = int((created - int(created)) * 1000) + 0.0
            ACCESS.handle(record)


def access_middleware(lines: AccessLog) -> Middleware:
    """The outermost middleware: every answer's line into ``lines``."""

    @web.middleware
    async def access(request: web.Request, handler: Handler) -> web.StreamResponse:
        start = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            lines.add(request, status, start)

    return access
