"""The open endpoints: ``/ping``, ``GET /api/v1`` (the API's description) and ``GET /`` (the
controller's limits and runtimes manifest), as upstream."""

from __future__ import annotations

import edgewhisk
from aiohttp import web

from ..keys import CONFIG, DISPATCHER
from ..schema.entity import LIMITS, PAYLOAD_MAX
from ..schema.sequence import LIMIT as SEQUENCE_LIMIT
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


IMAGES = {"python:3": "localhost/edgewhisk/python3-ai:latest",
          "nodejs:default": "localhost/edgewhisk/nodejs:latest"}
"""The image each kind's runtime is built as (``runtime_images/``); the ``process`` backend
runs the same proxy without one."""
FAMILIES = {"python:3": "python", "nodejs:default": "nodejs", "blackbox": "blackbox"}


@ROUTES.get("/")
async def root(request: web.Request) -> web.Response:
    """Upstream's ``Controller.info``: the API paths, the limits and the runtimes manifest
    (each kind some invoker offers now, local or edge, in ``ExecManifest``'s shape)."""
    kinds = sorted({kind for invoker in request.app[DISPATCHER].invokers
                    for kind in invoker.state().kinds})
    runtimes: dict[str, list[dict[str, object]]] = {}
    for kind in kinds:
        runtimes.setdefault(FAMILIES.get(kind, kind.split(":")[0]), []).append({
            "kind": kind, "image": IMAGES.get(kind, ""), "deprecated": False, "default": True,
            "attached": False, "requireMain": False})
    mb = 1024 * 1024
    limits = {"sequence_length": SEQUENCE_LIMIT}
    for name, field, scale in (("timeout", "duration", 1), ("memory", "memory", mb),
                               ("logs", "logs", mb)):  # upstream: ms and bytes
        limits[f"min_action_{field}"] = LIMITS[name].minimum * scale
        limits[f"max_action_{field}"] = LIMITS[name].maximum * scale
    return json_response({
        "description": "edgewhisk",
        "api_paths": ["/api/v1"],
        "limits": limits,
        "runtimes": runtimes,
    })
