"""Reading a request's body within a time bound and a size limit: the one place that does.

Why a deadline that grows with the bytes received (as Apache's ``mod_reqtimeout`` with its
``MinRate``): a fixed timeout either cuts a 48 MB action sent over a slow uplink or lets a body
that never ends hold a connection for minutes (aiohttp waits for a body forever). Here a body
must start arriving within ``--body-timeout`` seconds, and every ``--body-min-rate`` bytes
received buy one more second; a body that stalls or trickles is cut with a 408 (and the
connection closed: the rest of the body is never read). The longest a body of the limit's
size can take is therefore bounded: timeout + limit / rate.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from aiohttp import web

from ..exceptions import PayloadTooLarge, RequestTimeout
from ..keys import CONFIG
from ..schema.entity import DOCUMENT_MAX, too_large

CHUNK = 1024 * 1024


async def chunks(request: web.Request, chunk: int = CHUNK) -> AsyncIterator[bytes]:
    """The body's chunks as they arrive; ``RequestTimeout`` once it falls behind its deadline."""
    config = request.app[CONFIG]
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    deadline = loop.time() + config.body_timeout_s
    received = 0
    while True:
        try:
            async with asyncio.timeout_at(deadline):
                data = await request.content.read(chunk)
        except TimeoutError:
            raise RequestTimeout(
                f"The request body did not arrive in time: {received} bytes in "
                f"{time.monotonic() - started:.1f} s (a body gets {config.body_timeout_s:g} s, "
                f"plus 1 s per {config.body_min_rate} bytes received).") from None
        if not data:
            return
        received += len(data)
        deadline += len(data) / config.body_min_rate
        yield data


async def read(request: web.Request, limit: int = DOCUMENT_MAX) -> bytes:
    """The whole body, at most ``limit`` bytes (413 over it, before reading when declared)."""
    declared = request.content_length or 0
    if declared > limit:
        raise PayloadTooLarge(too_large("Request", declared, limit))
    if request.content.is_eof():  # all of it came with the headers (an invoke's few bytes):
        whole = request.content.read_nowait()  # nothing to wait for, so no deadline to keep
        if len(whole) > limit:
            raise PayloadTooLarge(too_large("Request", len(whole), limit))
        return whole
    parts, size = [], 0
    async for data in chunks(request):
        size += len(data)
        if size > limit:
            raise PayloadTooLarge(too_large("Request", size, limit))
        parts.append(data)
    return b"".join(parts)
