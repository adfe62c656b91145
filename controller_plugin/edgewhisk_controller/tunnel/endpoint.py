"""``GET /v1/invokers/tunnel``: the WebSocket edge invokers dial (docs/architecture.md,
"The tunnel protocol").

The device token is checked before the upgrade (``Authorization: Bearer <id>:<secret>``): a
missing, wrong or revoked token gets the API's 401 and never a socket. The path is outside
``/api/v1/`` on purpose: namespace keys do not open a tunnel, device tokens open nothing else.
aiohttp's own ping/pong (``heartbeat=``) drops half-open TCP connections; the protocol's
heartbeats (``session.py``) decide whether the invoker is alive.

A frame over ``MAX_FRAME_BYTES`` is refused by aiohttp's reader before it is buffered, and
aiohttp then closes with 1009 but no reason; ``_TunnelSocket`` adds the reason, so a device
learns why (every other close of ours carries one, ``session.py``).
"""

from __future__ import annotations

from aiohttp import WSCloseCode, web
from edgewhisk_tunnel import MAX_FRAME_BYTES, TUNNEL_PATH

from ..exceptions import BadRequest
from .hub import TUNNEL

CLOSE_TIMEOUT_S = 2.0
"""How long a close waits for the device's close frame."""

ROUTES = web.RouteTableDef()
TOO_BIG_REASON = f"a frame over the limit of {MAX_FRAME_BYTES} bytes".encode()


class _TunnelSocket(web.WebSocketResponse):
    """aiohttp's socket, with a reason on the close it makes itself for an oversized frame."""

    async def close(self, *, code: int = WSCloseCode.OK, message: bytes = b"",
                    drain: bool = True) -> bool:
        if code == WSCloseCode.MESSAGE_TOO_BIG and not message:
            message = TOO_BIG_REASON
        return await super().close(code=code, message=message, drain=drain)


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
