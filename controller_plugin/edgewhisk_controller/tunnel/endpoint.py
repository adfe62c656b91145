"""``GET /v1/invokers/tunnel``: the WebSocket edge invokers dial (docs/architecture.md,
"The tunnel protocol").

The device token is checked before the upgrade (``Authorization: Bearer <id>:<secret>``): a
missing, wrong or revoked token gets the API's 401 and never a socket. The path is outside
``/api/v1/`` on purpose: namespace keys do not open a tunnel, device tokens open nothing else.
aiohttp's own ping/pong (``heartbeat=``) drops half-open TCP connections; the protocol's
heartbeats (``session.py``) decide whether the invoker is alive.
"""

from __future__ import annotations

from aiohttp import web
from edgewhisk_tunnel import MAX_FRAME_BYTES, TUNNEL_PATH

from ..exceptions import BadRequest
from .hub import TUNNEL

CLOSE_TIMEOUT_S = 2.0
"""How long a close waits for the device's close frame."""

ROUTES = web.RouteTableDef()


@ROUTES.get(TUNNEL_PATH)
async def tunnel(request: web.Request) -> web.StreamResponse:
    hub = request.app[TUNNEL]
    token = await hub.tokens.verify(request.headers.get("Authorization"))
    ws = web.WebSocketResponse(
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
