"""The access log: one line per HTTP request, as the outermost middleware.

Why ours and not aiohttp's access logger: it runs after the auth middleware resolved the
namespace, so each line says who called, and it logs the path without the query string and
never a header, so no key, token or password reaches the log.
"""

from __future__ import annotations

import time

from aiohttp import web
from aiohttp.typedefs import Handler

from ..keys import NAMESPACE
from .logs import ACCESS, fields


@web.middleware
async def access_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    start = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        if ACCESS.isEnabledFor(20):  # INFO
            ms = round((time.perf_counter() - start) * 1000, 3)
            ns = request.get(NAMESPACE, "")
            ACCESS.info("%s %s %d %.1f ms %s", request.method, request.path, status, ms, ns,
                        extra=fields(method=request.method, path=request.path, status=status,
                                     ms=ms, namespace=ns, remote=request.remote or ""))
