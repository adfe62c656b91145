"""aiohttp's own error answers (malformed HTTP, bad headers, a request line too long) as JSON.

Why here and not in the errors middleware: aiohttp answers a request it cannot parse before
any middleware or handler runs, with a plain-text 400. ``Runner`` is the application's
``AppRunner`` with one change: each connection's protocol answers those errors with the
API's body, ``{"error": message, "code": transaction id}`` and ``X-Request-ID``, as OpenWhisk
answers every error. aiohttp offers no setting for it, so the runner swaps its server's class
for a subclass whose connections use ``_JsonErrors`` (``RequestHandler`` with ``handle_error``
overridden). A client's malformed request is logged as one line, not as a server error with a
traceback; the connection is closed after such an answer, as aiohttp does.
"""

from __future__ import annotations

import http
import logging
import uuid

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from ..exceptions import BadRequest, ControllerError

log = logging.getLogger(__name__)


class _JsonErrors(RequestHandler):
    __slots__ = ()

    def handle_error(self, request: BaseRequest, status: int = 500,
                     exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if request.writer.output_size > 0:  # as aiohttp: an answer is on its way already
            raise ConnectionError("Response is sent already, cannot send another response "
                                  "with the error message")
        tid = uuid.uuid4().hex
        if status == BadRequest.status:
            reason = exc.message if isinstance(exc, HttpProcessingError) else message
            text = f"The request could not be parsed: {reason or 'malformed HTTP'}."
            log.info("[%s] %s from %s", tid, text, request.remote)  # the client's, not a bug
        else:
            self.log_exception("[%s] error handling a request from %s", tid, request.remote,
                               exc_info=exc)
            text = (ControllerError.default_message if status >= 500
                    else message or http.HTTPStatus(status).phrase)
        response = web.json_response({"error": text, "code": tid}, status=status,
                                     headers={"X-Request-ID": tid})
        response.force_close()
        return response


class _Server(web.Server):
    def __call__(self) -> RequestHandler:
        handler = super().__call__()
        handler.__class__ = _JsonErrors  # same slots: a pure behaviour change
        return handler


class Runner(web.AppRunner):
    """``web.AppRunner`` whose connections answer aiohttp's own errors as JSON."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = _Server
        return server
