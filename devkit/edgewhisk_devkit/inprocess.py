"""An aiohttp application served in the calling process, on a free port, for a test's or a
benchmark's own server (a WebSocket peer, a controller app built in the test): the setup and
the cleanup each of them wrote out."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from aiohttp import web


@contextlib.asynccontextmanager
async def app_server(app: web.Application, host: str = "127.0.0.1") -> AsyncIterator[str]:
    """``app`` served on a free port of ``host`` until the block ends: its base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, 0)
        await site.start()
        yield f"http://{host}:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()
