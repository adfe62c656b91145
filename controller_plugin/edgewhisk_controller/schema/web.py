"""Web actions: an HTTP request as an action's arguments, and its result as the HTTP answer.

As upstream's ``WebActions.scala`` (apache/openwhisk:docs/webactions.md):

- **The request** (``arguments``): the action gets ``__ow_method`` (lower case),
  ``__ow_headers`` (lower-case names), ``__ow_path`` (what follows the action in the URL) and,
  for an authenticated caller, ``__ow_user``; then the query parameters and, for a JSON object
  or a form, the body's fields (the body wins). Another body is ``__ow_body``: text as it
  is, binary types (and, for legacy, ``application/json`` that is no object) base64. A
  ``raw-http`` action gets the query string as ``__ow_query`` and the body as ``__ow_body``
  untouched (base64 for binary). Query or body fields may not set reserved ``__ow_*`` names
  or ``final`` parameters.
- **The answer** (``transcode``) follows the URL's extension: ``.json`` (the result as JSON),
  ``.html``/``.svg``/``.text`` (the result's ``body``, or ``html``/``svg``/``text``, as that
  type), and ``.http`` (the default): the result is ``{statusCode, headers, body}``; a string
  body is sent as the ``Content-Type`` header says (``text/html`` by default; base64-decoded
  for a binary type), a JSON body as JSON, no body as 204.

Every message is upstream's (``Messages``), word for word.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import edgewhisk_json

from ..exceptions import BadRequest, NotFound
from .stored import PARAMETERS_NOT_ALLOWED

EXTENSIONS = (".http", ".json", ".html", ".svg", ".text")
DEFAULT_EXTENSION = ".http"
PREFIX = "__ow_"
RESERVED = frozenset(PREFIX + f for f in ("method", "headers", "path", "user", "query", "body"))

PROPERTY_NOT_FOUND = "Response does not include requested property."
HTTP_CONTENT_TYPE_ERROR = "Response type in header did not match generated content type."
UNKNOWN_CONTENT_TYPE = "Response did not specify a known content-type."
ERROR_PROCESSING = "There was an error processing your request."
RESPONSE_NOT_READY = "Response not yet ready."


def invalid_media(media: str) -> str:
    return f"Response is not valid '{media}'."


@dataclass(frozen=True)
class Answer:
    """What a web action answers: status, headers and the body's bytes."""

    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)


def split_extension(segment: str) -> tuple[str, str]:
    """``hello.json`` -> (``hello``, ``.json``); no known extension: ``.http``."""
    for extension in EXTENSIONS:
        if segment.endswith(extension) and len(segment) > len(extension):
            return segment[: -len(extension)], extension
    return segment, DEFAULT_EXTENSION


# -- the request -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Request:
    method: str
    headers: Mapping[str, str]
    path: str
    query: str
    body: bytes
    content_type: str


def arguments(request: Request, *, user: str | None, raw: bool,
              protected: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The action's arguments for ``request`` (``protected``: its ``final`` parameters)."""
    context: dict[str, Any] = {
        PREFIX + "method": request.method.lower(),
        PREFIX + "headers": {k.lower(): v for k, v in request.headers.items()},
        PREFIX + "path": request.path,
    }
    if user is not None:
        context[PREFIX + "user"] = user
    body = _body(request, raw)
    if raw:
        return {**context, PREFIX + "query": request.query,
                PREFIX + "body": "" if body is None else body}
    query = dict(parse_qsl(request.query, keep_blank_values=True))
    fields = body if isinstance(body, dict) else {}
    if (query.keys() | fields.keys()) & (RESERVED | protected):
        raise BadRequest(PARAMETERS_NOT_ALLOWED)  # stored's: invoke says the same
    out = {**context, **query, **fields}
    if body is not None and not isinstance(body, dict):
        out[PREFIX + "body"] = body
    return out


def _body(request: Request, raw: bool) -> Any:
    """The body as the action sees it: None when empty."""
    if not request.body:
        return None
    media = request.content_type.split(";")[0].strip().lower()
    if is_json(media) and not raw:
        try:
            return edgewhisk_json.loads(request.body)  # the API's one strict reading
        except edgewhisk_json.JSONError as exc:
            raise BadRequest(f"The request content was malformed: {exc.reason}.") from None
    if media == "application/x-www-form-urlencoded" and not raw:
        return dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
    if is_binary(media) or media == "application/json":
        return base64.b64encode(request.body).decode()
    return request.body.decode("utf-8", "replace")


def is_json(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")


def is_binary(media: str) -> bool:
    """Whether a media type carries bytes rather than text (as pekko-http's ``binary``)."""
    main, _, sub = media.partition("/")
    textual = main == "text" or is_json(media) or sub.endswith("+xml") or sub in (
        "xml", "javascript", "x-www-form-urlencoded", "x-javascript", "ecmascript")
    return not textual and bool(media)


# -- the answer --------------------------------------------------------------------------------

def transcode(extension: str, result: Any) -> Answer:
    """The answer for ``result`` (the activation's result, or its ``error``) by extension."""
    if extension == ".json":
        if not isinstance(result, dict | list):
            raise BadRequest(invalid_media("application/json"))
        return Answer(200, _json(result), "application/json")
    if extension in (".html", ".svg"):
        media = "text/html; charset=UTF-8" if extension == ".html" else "image/svg+xml"
        value = _field(result, extension[1:])
        if not isinstance(value, str):
            raise BadRequest(invalid_media(media.split(";")[0]))
        return Answer(200, value.encode(), media)
    if extension == ".text":
        return Answer(200, _text(result), "text/plain; charset=UTF-8")
    return _http(result)


def _field(result: Any, name: str) -> Any:
    if isinstance(result, dict):
        return result.get("body", result.get(name))
    return result


def _text(result: Any) -> bytes:
    if isinstance(result, dict):
        if "body" not in result and "text" not in result:
            raise NotFound(PROPERTY_NOT_FOUND)
        result = result.get("body", result.get("text"))
    if isinstance(result, dict | list):
        return json.dumps(result, indent=2).encode()
    if isinstance(result, str):
        return result.encode()
    if isinstance(result, bool) or result is None:
        return json.dumps(result).encode()
    return str(result).encode()


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _http(result: Any) -> Answer:
    """Upstream's ``resultAsHttp``: ``statusCode``, ``headers`` and ``body``."""
    if not isinstance(result, dict):
        raise BadRequest(invalid_media("message/http"))
    headers = _headers(result.get("headers", {}))
    code = _status(result.get("statusCode"))
    content_type = next((v for k, v in headers if k.lower() == "content-type"), None)
    others = [(k, v) for k, v in headers if k.lower() != "content-type"]
    body = result.get("body")
    if body is None or body == "":
        return Answer(code or 204, b"", None, others)
    if not isinstance(body, str):
        media = (content_type or "application/json").split(";")[0].strip().lower()
        if not is_json(media):
            raise BadRequest(HTTP_CONTENT_TYPE_ERROR)
        return Answer(code or 200, _json(body), content_type or "application/json", others)
    media = (content_type or "text/html").split(";")[0].strip().lower()
    if "/" not in media:
        raise BadRequest(UNKNOWN_CONTENT_TYPE)
    data = body.encode()
    if is_binary(media) or (is_json(media) and _is_base64(body)):
        try:
            data = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest(HTTP_CONTENT_TYPE_ERROR) from None
    return Answer(code or 200, data, content_type or "text/html; charset=UTF-8", others)


def _headers(value: Any) -> list[tuple[str, str]]:
    if not isinstance(value, dict):
        raise BadRequest(invalid_media("message/http"))
    out: list[tuple[str, str]] = []
    for name, item in value.items():
        for one in item if isinstance(item, list) else [item]:
            if isinstance(one, bool):
                out.append((name, str(one).lower()))
            elif isinstance(one, str | int | float):
                out.append((name, str(one)))
            else:
                raise BadRequest(invalid_media("message/http"))
    return out


def _status(value: Any) -> int | None:
    if value is None:
        return None
    try:
        code = int(value) if isinstance(value, str) or (
            isinstance(value, int | float) and not isinstance(value, bool) and value == int(value)
        ) else None
    except ValueError:
        code = None
    if code is None or not 100 <= code <= 599:
        raise BadRequest(invalid_media("message/http"))
    return code


def _is_base64(text: str) -> bool:
    """Upstream's legacy check (``Exec.isBinaryCode``): a JSON-typed body that is base64."""
    stripped = text.strip()
    if not stripped or stripped[0] in "{[\"" or len(stripped) % 4:
        return False
    try:
        base64.b64decode(stripped, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True
