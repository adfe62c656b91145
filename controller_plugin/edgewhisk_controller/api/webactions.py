"""Web actions: ``/api/v1/web/{ns}/{pkg}/{action}.{ext}[/path]``, as upstream's
``WhiskWebActionsApi`` (apache/openwhisk:docs/webactions.md).

An action annotated ``web-export: true`` answers plain HTTP requests without a key: ``pkg`` is
``default`` for an action outside a package. It runs as its owner (the activation is the
owner namespace's) with the request as its arguments and its result as the answer
(``schema/web.py``). ``require-whisk-auth`` asks for a secret (the ``X-Require-Whisk-Auth``
header must equal the annotation's string or number) or, when ``true``, a valid key of any
namespace (then ``__ow_user`` names it). Unless ``web-custom-options: true``, the answer
carries upstream's CORS headers and ``OPTIONS`` answers 200 without running the action. The
body is read as every body is (``body.py``: 408, 413) and the run charged to the owner's
namespace limits (429), as upstream throttles a web action as its owner. An
action that is missing, not exported or not readable by its owner is a 404, so a web URL
never tells which.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..auth import NAMESPACES
from ..dispatch import resolve
from ..exceptions import BadRequest, Forbidden, NotFound, Unauthorized
from ..keys import DISPATCHER, STORE, SUBJECT, TID
from ..schema import activation as act
from ..schema import stored
from ..schema import web as schema
from ..schema.entity import PAYLOAD_MAX, check_name, check_payload
from ..stores.interface import get_or_none
from .body import read
from .request import activation_headers, charge_invoke, json_response

ROUTES = web.RouteTableDef()
PATH = "/api/v1/web/{ns}/{pkg}/{action}{tail:.*}"
METHODS = ("GET", "DELETE", "POST", "PUT", "HEAD", "OPTIONS", "PATCH")
WAIT_S = 60.0
CORS = {"Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Methods": "OPTIONS, GET, DELETE, POST, PUT, HEAD, PATCH",
        "Access-Control-Allow-Headers": "Authorization, Origin, X-Requested-With, "
                                        "Content-Type, Accept, User-Agent"}
AUTH_HEADER = "X-Require-Whisk-Auth"


@ROUTES.route("*", PATH)
async def web_action(request: web.Request) -> web.StreamResponse:
    if request.method not in METHODS:
        raise web.HTTPMethodNotAllowed(request.method, METHODS)
    name, extension = schema.split_extension(request.match_info["action"])
    return await serve(request, request.match_info["ns"], request.match_info["pkg"], name,
                       extension, request.match_info["tail"])


async def serve(request: web.Request, ns: str, pkg: str, name: str, extension: str,
                path: str) -> web.StreamResponse:
    """Run the web action ``ns/pkg/name`` for ``request``, answering by ``extension``;
    ``path`` is ``__ow_path`` (the routes API passes the whole API path)."""
    resolved = await _exported(request, ns, pkg, name)
    cors = stored.annotation(resolved.action, "web-custom-options") is not True
    headers = dict(CORS) if cors else {}
    if cors and request.method == "OPTIONS":
        return web.Response(status=200, headers=headers)
    if request.method != "OPTIONS":
        _check_auth(request, stored.annotation(resolved.action, "require-whisk-auth"))
    caller = request.get(SUBJECT)
    body = await read(request, PAYLOAD_MAX)  # within its deadline (408) and size (413)
    args = schema.arguments(
        schema.Request(request.method, dict(request.headers), path, request.query_string,
                       body, request.headers.get("Content-Type", "")),
        user=caller.namespace if caller is not None else None,
        raw=stored.annotation(resolved.action, "raw-http") is True,
        protected=stored.final_parameters(resolved.action))
    check_payload(stored.merged_parameters(resolved.action, args))
    charge_invoke(request, ns)  # 429; the owner pays
    invocation = await request.app[DISPATCHER].invoke(
        ns, resolved.action, args, subject=ns, blocking=True, wait_s=WAIT_S,
        binding=resolved.binding)
    headers.update(activation_headers(invocation.activation_id))
    if invocation.record is None:
        return json_response({"error": schema.RESPONSE_NOT_READY, "code": request[TID]}, 202,
                             **headers)
    return _answer(request, invocation.record, extension, headers)


async def _exported(request: web.Request, ns: str, pkg: str, name: str) -> resolve.Resolved:
    """The exported action, resolved as its owner would (404 for anything else)."""
    store = request.app[STORE]
    try:
        check_name(ns), check_name(pkg), check_name(name)
    except BadRequest:
        raise NotFound() from None
    if await get_or_none(store, NAMESPACES, ns) is None:
        raise NotFound()
    qualified = name if pkg == "default" else f"{pkg}/{name}"
    try:
        resolved = await resolve.resolve_action(store, ns, ns, qualified)
    except (NotFound, Forbidden):
        raise NotFound() from None
    if stored.annotation(resolved.action, "web-export") is not True:
        raise NotFound()
    return resolved


def _check_auth(request: web.Request, required: Any) -> None:
    """Upstream's ``confirmAuthenticated``."""
    if required is None or required is False:
        return
    if required is True:
        allowed = request.get(SUBJECT) is not None
    elif isinstance(required, str | int | float) and not isinstance(required, bool):
        allowed = request.headers.get(AUTH_HEADER) == str(required)
    else:
        allowed = False
    if not allowed:
        raise Unauthorized()


def _answer(request: web.Request, record: act.ActivationRecord, extension: str,
            headers: dict[str, str]) -> web.Response:
    """The activation's answer: its result (an application error's ``error``) transcoded; a
    developer or whisk error is upstream's 400 ``There was an error processing your
    request.``"""
    response = record["response"]
    if response["statusCode"] == act.SUCCESS:
        result = response["result"]
    elif response["statusCode"] == act.APPLICATION_ERROR:
        if not isinstance(response["result"], dict) or act.ERROR_FIELD not in response["result"]:
            raise NotFound(schema.PROPERTY_NOT_FOUND)
        result = response["result"][act.ERROR_FIELD]
    else:
        return json_response({"error": schema.ERROR_PROCESSING, "code": request[TID]}, 400,
                             **headers)
    answer = schema.transcode(extension, result)
    response_headers: list[tuple[str, str]] = [*headers.items(), *answer.headers]
    if answer.content_type is not None:
        response_headers.append(("Content-Type", answer.content_type))
    out = web.Response(status=answer.status, body=answer.body)
    out.headers.popall("Content-Type", None)
    for key, value in response_headers:
        out.headers.add(key, value)
    return out
