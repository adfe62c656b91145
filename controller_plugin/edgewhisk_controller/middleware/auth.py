"""Authentication of everything under ``/api/v1/``: Basic ``uuid:key`` -> ``Subject``.

Runs inside the errors middleware (which answers its 401/403). It also resolves the path's
``{ns}`` once (``_`` -> the caller's namespace; anybody else's -> 403), so that no handler
can forget the check: handlers read the namespace from ``request[NAMESPACE]`` only.
``GET /api/v1`` (the API description) and ``/ping`` stay open, as upstream.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from ..keys import AUTHENTICATOR, NAMESPACE, SUBJECT

PROTECTED = "/api/v1/"


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(PROTECTED):
        subject = await request.app[AUTHENTICATOR].authenticate(
            request.headers.get("Authorization")
        )
        request[SUBJECT] = subject
        ns = request.match_info.get("ns")
        if ns is not None:
            request[NAMESPACE] = subject.resolve(ns)
    return await handler(request)
