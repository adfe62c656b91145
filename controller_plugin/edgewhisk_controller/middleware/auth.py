"""Authentication of everything under ``/api/v1/``: Basic ``uuid:key`` -> ``Subject``.

Runs inside the errors middleware (which answers its 401/403). It also resolves the path's
``{ns}`` once (``_`` -> the caller's namespace; anybody else's -> 403), so that no handler
can forget the check: handlers read the namespace from ``request[NAMESPACE]`` only. A handler
marked ``shares_reads`` (``keys.py``) is given another namespace as it is, and lets through
only what that namespace published (packages and their actions). ``GET /api/v1`` (the API
description) and ``/ping`` stay open, as upstream; web actions (``/api/v1/web/``) need no key,
and a valid one makes the caller known to them (upstream's ``require-whisk-auth: true``).
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from ..exceptions import Unauthorized
from ..keys import AUTHENTICATOR, NAMESPACE, SHARED_READS, SUBJECT

PROTECTED = "/api/v1/"
WEB = "/api/v1/web/"


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(WEB):
        await _maybe_authenticate(request)
    elif request.path.startswith(PROTECTED):
        subject = await request.app[AUTHENTICATOR].authenticate(
            request.headers.get("Authorization")
        )
        request[SUBJECT] = subject
        ns = request.match_info.get("ns")
        if ns is not None:
            shared = getattr(request.match_info.handler, SHARED_READS, False)
            own = subject.resolve(ns) if not shared or ns in ("_", subject.namespace) else None
            request[NAMESPACE] = own or ns
    return await handler(request)


async def _maybe_authenticate(request: web.Request) -> None:
    """A web action's caller: known with a valid key, anonymous without one (or a wrong one),
    as upstream's web routes fall back to anonymous."""
    header = request.headers.get("Authorization")
    if not header:
        return
    try:
        request[SUBJECT] = await request.app[AUTHENTICATOR].authenticate(header)
    except Unauthorized:
        pass
