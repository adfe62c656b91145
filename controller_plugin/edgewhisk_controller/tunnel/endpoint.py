"""``GET /v1/invokers/tunnel``: the WebSocket edge invokers dial (docs/architecture.md,
"The tunnel protocol").

The device token is checked before the upgrade (``Authorization: Bearer <id>:<secret>``): a
missing, wrong or revoked token gets the API's 401 and never a socket. The path is outside
``/api/v1/`` on purpose: namespace keys do not open a tunnel, device tokens open nothing else.
aiohttp's own ping/pong (``heartbeat=``) drops half-open TCP connections; the protocol's
heartbeats (``session.py``) decide whether the invoker is alive.

A frame over ``MAX_FRAME_BYTES`` is refused by aiohttp's reader before it is buffered, and
aiohttp then closes with 1009 but no reason; ``_TunnelSocket`` adds the reason, so a device
learns why (every other close of ours carries one, ``session.py``), and closes lingering: the
rest of the refused frame is still on its way, and a socket closed with bytes unread answers
them with a TCP reset, which can reach the device before it has read the close frame (it then
sees 1006 and no reason).
"""

from __future__ import annotations

import asyncio
import struct

from aiohttp import WSCloseCode, WSMsgType, web
from aiohttp.abc import AbstractStreamWriter
from edgewhisk_tunnel import MAX_FRAME_BYTES, TUNNEL_PATH

from ..exceptions import BadRequest
from .hub import TUNNEL

CLOSE_TIMEOUT_S = 2.0
"""How long a close waits for the device's close frame (or, lingering, for it to hang up)."""
LINGER_POLL_S = 0.02

ROUTES = web.RouteTableDef()
TOO_BIG_REASON = f"a frame over the limit of {MAX_FRAME_BYTES} bytes".encode()


class _TunnelSocket(web.WebSocketResponse):
    """aiohttp's socket, with a reason and a lingering close when it refuses an oversized
    frame itself."""

    _transport: asyncio.BaseTransport | None = None

    async def prepare(self, request: web.BaseRequest) -> AbstractStreamWriter:
        self._transport = request.transport
        return await super().prepare(request)

    async def close(self, *, code: int = WSCloseCode.OK, message: bytes = b"",
                    drain: bool = True) -> bool:
        if code == WSCloseCode.MESSAGE_TOO_BIG and not message and not self.closed:
            await self._refuse_oversized()
        return await super().close(code=code, message=message, drain=drain)

    async def _refuse_oversized(self) -> None:
        """Send 1009 with its reason and half-close; then let aiohttp's protocol read and drop
        what follows (it does once its reader failed) until the device hangs up or
        ``CLOSE_TIMEOUT_S`` passes. ``close()`` then only does aiohttp's bookkeeping: the
        transport is gone, so it sends nothing twice."""
        transport = self._transport
        assert transport is not None
        payload = struct.pack("!H", WSCloseCode.MESSAGE_TOO_BIG) + TOO_BIG_REASON
        await self.send_frame(payload, WSMsgType.CLOSE)
        if isinstance(transport, asyncio.WriteTransport) and transport.can_write_eof():
            transport.write_eof()  # TLS cannot half-close; its devices read the frame anyway
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CLOSE_TIMEOUT_S
        while not transport.is_closing() and loop.time() < deadline:
            await asyncio.sleep(LINGER_POLL_S)
        transport.close()


@ROUTES.get(TUNNEL_PATH)
async def tunnel(request: web.Request) -> web.StreamResponse:
    hub = request.app[TUNNEL]
    token = await hub.tokens.verify(request.headers.get("Authorization"))
    ws = _TunnelSocket(
        heartbeat=hub.offline_after_s / 2,
        max_msg_size=MAX_FRAME_BYTES + 1,  # aiohttp refuses sizes >= its limit
        compress=False,
        timeout=CLOSE_TIMEOUT_S,
    )
    if not ws.can_prepare(request).ok:
        raise BadRequest("The tunnel needs a WebSocket upgrade.")
    await ws.prepare(request)
    await hub.serve(ws, token, request.remote or "")
    return ws
