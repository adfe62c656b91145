"""The open endpoints: ``/ping`` and ``GET /api/v1`` (the API's description), as upstream."""

from __future__ import annotations

import edgewhisk
from aiohttp import web

from ..keys import CONFIG
from ..schema.entity import LIMITS, PAYLOAD_MAX
from .request import json_response

ROUTES = web.RouteTableDef()


@ROUTES.get("/ping")
async def ping(request: web.Request) -> web.Response:
    return web.Response(text="pong")


@ROUTES.get("/api/v1")
async def describe(request: web.Request) -> web.Response:
    limits = {f"{name}_{edge}": getattr(spec, edge) for name, spec in LIMITS.items()
              for edge in ("minimum", "maximum", "default")}
    namespace = request.app[CONFIG].limits  # every namespace's, as upstream's info shows them
    limits.update(actions_per_minute=namespace.invocations_per_minute,
                  concurrent_actions=namespace.concurrent_invocations,
                  triggers_per_minute=namespace.fires_per_minute)
    return json_response({
        "api_version": "1.0.0",
        "api_version_path": "v1",
        "build": edgewhisk.__version__,  # upstream's field: `wsk property get --apibuild`
        "description": "edgewhisk: an OpenWhisk-compatible API for edge AI",
        "limits": {**limits, "payload_max": PAYLOAD_MAX},
    })
