"""Edge invokers: device tokens and what the tunnel knows about each device.

``POST   /api/v1/namespaces/{ns}/invokers/tokens {"id": ID}``  -> ``{"id", "namespace",
         "created", "subject", "token"}``, the token shown this once (``?overwrite=true``
         replaces an existing token of this namespace and closes its connection)
``GET    /api/v1/namespaces/{ns}/invokers/tokens``             -> the tokens, no secrets
``DELETE /api/v1/namespaces/{ns}/invokers/tokens/{id}``        -> revoked; its live tunnel
         connection is closed at once (close code 4003) and its in-flight work given up
``GET    /api/v1/namespaces/{ns}/invokers``                    -> the namespace's edge
         invokers: online/connected/healthy, round-trip time, context, load

Authentication and the namespace check are the API's (401/403 from the auth middleware).
"""

from __future__ import annotations

from aiohttp import web

from ..exceptions import BadRequest, Conflict
from ..keys import DISPATCHER
from ..schema.entity import query_bool
from ..tunnel.hub import TUNNEL
from ..tunnel.tokens import check_invoker_id
from .request import json_response, namespace, read_json, subject

ROUTES = web.RouteTableDef()
BASE = "/api/v1/namespaces/{ns}/invokers"
BODY_LIMIT = 64 * 1024


@ROUTES.post(BASE + "/tokens")
async def create_token(request: web.Request) -> web.Response:
    hub, ns = request.app[TUNNEL], namespace(request)
    body = await read_json(request, limit=BODY_LIMIT)
    if not isinstance(body, dict) or set(body) - {"id"}:
        raise BadRequest('The request content must be {"id": "<invoker id>"}.')
    id = check_invoker_id(body.get("id"))
    if id in hub.registry and id not in hub.devices:
        raise Conflict(f"The invoker id {id!r} is taken by a local invoker.")
    overwrite = query_bool(request.query, "overwrite")
    token, secret = await hub.tokens.create(ns, id, subject(request).subject,
                                            overwrite=overwrite)
    if overwrite:
        await hub.revoke(id)  # the old token's connection, if any
    return json_response({**token.public(), "token": secret})


@ROUTES.get(BASE + "/tokens")
async def list_tokens(request: web.Request) -> web.Response:
    hub, ns = request.app[TUNNEL], namespace(request)
    return json_response([token.public() for token in await hub.tokens.list(ns)])


@ROUTES.delete(BASE + "/tokens/{id}")
async def revoke_token(request: web.Request) -> web.Response:
    hub, ns = request.app[TUNNEL], namespace(request)
    token = await hub.tokens.revoke(ns, check_invoker_id(request.match_info["id"]))
    await hub.revoke(token.id)
    return json_response({**token.public(), "revoked": True})


@ROUTES.get(BASE)
async def list_invokers(request: web.Request) -> web.Response:
    """The namespace's edge invokers (each with its recent ``preloads`` decisions); with
    ``pending=true`` an object that also counts the namespace's pending activations per unmet
    constraint (``dispatch/pending.py``)."""
    hub, ns, dispatcher = request.app[TUNNEL], namespace(request), request.app[DISPATCHER]
    invokers = hub.status(ns)
    if dispatcher.standing is not None:  # preload decisions about each, with their reasons
        for status in invokers:
            status["preloads"] = dispatcher.standing.decisions_for(status["id"])
    if query_bool(request.query, "pending"):
        return json_response({"invokers": invokers, "pending": dispatcher.pending.summary(ns)})
    return json_response(invokers)
