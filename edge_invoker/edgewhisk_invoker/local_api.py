"""The device's local invoke API: OpenWhisk's invoke, answered whether or not the tunnel is up.

An app on the device calls ``POST /api/v1/namespaces/_/actions/NAME?blocking=true`` (``_``:
the device's namespace, as with ``wsk``) on a unix socket (``--local-api PATH``, mode 0600)
and, optionally, on a loopback TCP port (``--local-port``). Every request carries the local key
as OpenWhisk's ``Authorization: Basic base64(uuid:key)``; the key is made at the first start
and kept in ``--offline-dir``/``local.key`` (0600), so only the device's own user reads it.

Why the same answers as the controller's API: an app written against OpenWhisk keeps working
when it talks to its device. Refusals are ``{"error": message, "code": id}`` with the
controller's status and text (a missing key 401, another namespace 403, malformed JSON 400, a
body over 1 MiB 413 — read through the one strict JSON reader, ``edgewhisk_json``), checked
before anything runs, so a refused request changes nothing. What happens to an accepted one
is :class:`~.offline_work.OfflineWork`'s: forwarded to the controller while the device is
connected, run (or deferred) here while it is not.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import os
import secrets
import uuid
from pathlib import Path
from typing import Any, Protocol

import edgewhisk_json
from aiohttp import web
from aiohttp.typedefs import Handler

from .exceptions import (
    BadRequest,
    Forbidden,
    LocalApiError,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
)

log = logging.getLogger("edgewhisk_invoker")

PAYLOAD_MAX = 1024 * 1024
"""OpenWhisk's limit on invocation parameters (the controller's ``schema.entity.PAYLOAD_MAX``)."""
KEY_FILE = "local.key"
OWN_NAMESPACE = "_"
ROUTE = "/api/v1/namespaces/{ns}/actions/{name:[^/]+(?:/[^/]+)?}"


class Answer(Protocol):
    status: int
    body: Any
    headers: dict[str, str]


class Invoker(Protocol):
    """What serves an accepted invoke (``offline_work.OfflineWork.invoke``)."""

    def namespace(self) -> str | None: ...

    async def invoke(self, name: str, params: dict[str, Any], *, blocking: bool,
                     only_result: bool, raw: bytes, query: dict[str, str]) -> Answer: ...


def load_key(folder: Path) -> str:
    """The local key (``uuid:secret``), made on first use and kept 0600 in ``folder``."""
    path = folder / KEY_FILE
    if path.exists():
        return path.read_text().strip()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = f"{uuid.uuid4()}:{secrets.token_urlsafe(48)[:64]}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(key + "\n")
    return key


def check_key(header: str | None, key: str) -> None:
    """401 unless ``header`` is ``Basic base64(key)`` (the controller's rule for its keys)."""
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "basic":
        raise Unauthorized()
    try:
        given = base64.b64decode(token.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise Unauthorized() from None
    if not hmac.compare_digest(given.encode(), key.encode()):
        raise Unauthorized()


def query_bool(query: Any, name: str) -> bool:
    raw = query.get(name)
    if raw is None or raw == "":
        return False
    if raw.lower() in ("true", "false"):
        return bool(raw.lower() == "true")
    raise BadRequest(f"{name}: {raw!r} must be true or false")


async def read_params(request: web.Request) -> tuple[bytes, dict[str, Any]]:
    """The body (at most ``PAYLOAD_MAX`` bytes) and the parameters it holds."""
    declared = request.content_length or 0
    if declared > PAYLOAD_MAX:
        raise PayloadTooLarge(_too_large(declared))
    raw = await request.content.read(PAYLOAD_MAX + 1)
    if len(raw) > PAYLOAD_MAX:
        raise PayloadTooLarge(_too_large(len(raw)))
    if not raw.strip():
        return raw, {}
    try:
        value = edgewhisk_json.loads(raw)
    except edgewhisk_json.JSONError as exc:
        raise BadRequest(f"The request content was malformed: {exc.reason}.") from None
    if not isinstance(value, dict):
        raise BadRequest(f"The invocation parameters must be a JSON object, got "
                         f"{type(value).__name__}.")
    return raw, value


def _too_large(size: int) -> str:
    return f"Request larger than allowed: {size} > {PAYLOAD_MAX} bytes."


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    tid = uuid.uuid4().hex
    try:
        return await handler(request)
    except LocalApiError as exc:
        status, message = exc.status, exc.message
    except web.HTTPNotFound:
        status, message = NotFound.status, NotFound.default_message
    except web.HTTPMethodNotAllowed as exc:
        status = 405
        message = (f"The requested method {exc.method} is not allowed; use "
                   f"{', '.join(sorted(exc.allowed_methods))}.")
    except Exception:
        log.exception("local API: %s %s failed", request.method, request.path)
        status, message = 500, LocalApiError.default_message
    return web.json_response({"error": message, "code": tid}, status=status,
                             headers={"X-Request-ID": tid})


def make_app(invoker: Invoker, key: str) -> web.Application:
    async def invoke(request: web.Request) -> web.Response:
        check_key(request.headers.get("Authorization"), key)
        ns, name = request.match_info["ns"], request.match_info["name"]
        own = invoker.namespace()
        if ns not in (OWN_NAMESPACE, own):
            raise Forbidden()
        blocking = query_bool(request.query, "blocking")
        only_result = query_bool(request.query, "result")
        raw, params = await read_params(request)
        answer = await invoker.invoke(name, params, blocking=blocking, only_result=only_result,
                                      raw=raw, query=dict(request.query))
        return web.json_response(answer.body, status=answer.status, headers=answer.headers,
                                 dumps=edgewhisk_json.dumps)

    app = web.Application(middlewares=[_errors], client_max_size=PAYLOAD_MAX + 1)
    app.router.add_post(ROUTE, invoke)
    return app


class LocalApi:
    """The running listeners (unix socket, optional loopback port); ``close`` stops them."""

    def __init__(self, app: web.Application, socket_path: Path | None, port: int | None) -> None:
        self.app = app
        self.socket_path = socket_path
        self.port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        if self.socket_path is not None:
            self.socket_path.unlink(missing_ok=True)
            site: web.BaseSite = web.UnixSite(self._runner, str(self.socket_path))
            await site.start()
            os.chmod(self.socket_path, 0o600)
        if self.port is not None:
            await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    def where(self) -> list[str]:
        return ([str(self.socket_path)] if self.socket_path else []) + \
            ([f"127.0.0.1:{self.port}"] if self.port is not None else [])

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.socket_path is not None:
            self.socket_path.unlink(missing_ok=True)

