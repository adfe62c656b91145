"""``GET /api/v1/namespaces``: the caller's namespaces (one per key here)."""

from __future__ import annotations

from aiohttp import web

from .request import json_response, subject

ROUTES = web.RouteTableDef()


@ROUTES.get("/api/v1/namespaces")
async def list_namespaces(request: web.Request) -> web.Response:
    return json_response([subject(request).namespace])
