"""The one place where exceptions become HTTP answers: ``{"error": message, "code": tid}``.

Every request gets a transaction id (``X-Request-ID``, and ``code`` in error bodies, as
upstream). ``ControllerError`` carries its own status (and ``details``, extra fields of the
body such as a selector's candidates); store and blob store errors, aiohttp's HTTP
exceptions (unknown route, wrong method, body over ``client_max_size``) are translated here;
anything else is a bug: logged with its traceback and answered 500, so that no request can
take the server down. Cancellation is re-raised (the client went away or we are stopping).
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from aiohttp import web
from aiohttp.typedefs import Handler

from .. import blobs, stores
from ..exceptions import Conflict as ConflictError
from ..exceptions import (
    ControllerError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
)
from ..keys import TID

log = logging.getLogger(__name__)


def _from_store(exc: stores.StoreError) -> ControllerError:
    if isinstance(exc, stores.NotFound):
        return NotFound()
    if isinstance(exc, stores.Conflict):
        return ConflictError()
    if isinstance(exc, stores.StoreUnavailable):
        return ServiceUnavailable("The entity store is not available right now.")
    return ControllerError()


def _from_blobs(exc: blobs.BlobError) -> ControllerError:
    """Blob store errors the registry did not word itself (it words digest and size)."""
    if isinstance(exc, blobs.BlobNotFound):
        return NotFound(f"The artifact's content is missing from the blob store ({exc.key}).")
    if isinstance(exc, blobs.BlobUnavailable):
        return ServiceUnavailable("The artifact blob store is not available right now.")
    return ControllerError()


def _from_http(exc: web.HTTPException) -> tuple[int, str, dict[str, str]]:
    """aiohttp's own answers (routing, body size) as (status, message, extra headers)."""
    if isinstance(exc, web.HTTPNotFound):
        return NotFound.status, NotFound.default_message, {}
    if isinstance(exc, web.HTTPMethodNotAllowed):
        allowed = ", ".join(sorted(exc.allowed_methods))
        message = f"The requested method {exc.method} is not allowed; use {allowed}."
        return MethodNotAllowed.status, message, {"Allow": allowed}
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return PayloadTooLarge.status, f"The request content was too large: {exc.text}", {}
    return exc.status, exc.reason, {}


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    tid = uuid.uuid4().hex
    request[TID] = tid
    headers: dict[str, str] = {}
    details: dict[str, object] = {}
    close = False
    try:
        response = await handler(request)
    except asyncio.CancelledError:
        raise
    except ControllerError as exc:
        status, message, details = exc.status, exc.message, exc.details
        close = exc.close_connection
    except (stores.StoreError, blobs.BlobError) as exc:
        error = _from_store(exc) if isinstance(exc, stores.StoreError) else _from_blobs(exc)
        status, message = error.status, error.message
        if status >= 500:
            log.error("[%s] %s %s: %r", tid, request.method, request.path, exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        status, message, headers = _from_http(exc)
    except Exception:
        log.exception("[%s] %s %s failed", tid, request.method, request.path)
        status, message = ControllerError.status, ControllerError.default_message
    else:
        if not response.prepared:
            response.headers["X-Request-ID"] = tid
        return response
    if status >= 500:
        log.warning("[%s] %s %s -> %d %s", tid, request.method, request.path, status, message)
    response = web.json_response({**details, "error": message, "code": tid}, status=status,
                                 headers={"X-Request-ID": tid, **headers})
    if close:
        response.force_close()
    return response
