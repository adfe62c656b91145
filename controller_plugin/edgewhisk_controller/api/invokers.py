"""Edge invokers: device tokens and what the tunnel knows about each device.

``POST   /api/v1/namespaces/{ns}/invokers/tokens {"id": ID}``  -> ``{"id", "namespace",
         "created", "subject", "token"}``, the token shown this once (``?overwrite=true``
         replaces an existing token of this namespace and closes its connection)
``GET    /api/v1/namespaces/{ns}/invokers/tokens``             -> the tokens, no secrets
``DELETE /api/v1/namespaces/{ns}/invokers/tokens/{id}``        -> revoked; its live tunnel
         connection is closed at once (close code 4003) and its in-flight work given up
``GET    /api/v1/namespaces/{ns}/invokers``                    -> every invoker the
         namespace may use, local and edge: online/connected/healthy, round-trip time,
         context, load, node store, last heartbeat, version

``GET    /api/v1/namespaces/{ns}/invokers/{id}/logs?tail=N&follow=true`` -> the edge
         agent's own log as text lines, through its tunnel (``tunnel/devicelogs.py``); with
         ``follow`` the answer stays open across the device's reconnects until it goes
         offline or the client hangs up

Authentication and the namespace check are the API's (401/403 from the auth middleware).
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from ..cluster import NODE
from ..cluster.shard import FORWARDED
from ..exceptions import BadRequest, Conflict, NotFound, ServiceUnavailable
from ..keys import DISPATCHER
from ..observe.audit import audit
from ..schema.entity import query_bool, query_int
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
    if id in hub.registry and id not in hub.devices and not hub.registry.get(id).forwarded:
        raise Conflict(f"The invoker id {id!r} is taken by a local invoker.")  # not a peer's
    overwrite = query_bool(request.query, "overwrite")
    token, secret = await hub.tokens.create(ns, id, subject(request).subject,
                                            overwrite=overwrite)
    if overwrite:
        await hub.revoke(id)  # the old token's connection, if any
    audit("token.create", namespace=ns, invoker=id, by=subject(request).subject,
          overwrite=overwrite)
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
    audit("token.revoke", namespace=ns, invoker=token.id, by=subject(request).subject)
    return json_response({**token.public(), "revoked": True})


@ROUTES.get(BASE)
async def list_invokers(request: web.Request) -> web.Response:
    """Every invoker the namespace may use: the controller's own (``where: local``) first,
    then its edge invokers (``where: tunnel``), each with context, load, store, heartbeat,
    version and its recent ``preloads`` decisions; with ``pending=true`` an object that also
    counts the namespace's pending activations per unmet constraint (``dispatch/pending.py``)."""
    hub, ns, dispatcher = request.app[TUNNEL], namespace(request), request.app[DISPATCHER]
    invokers = hub.listing(ns)
    if dispatcher.standing is not None:  # preload decisions about each, with their reasons
        decisions = await dispatcher.standing.recent()
        for status in invokers:
            status["preloads"] = dispatcher.standing.decisions_for(status["id"], decisions)
    if query_bool(request.query, "pending"):
        return json_response({"invokers": invokers, "pending": dispatcher.pending.summary(ns)})
    return json_response(invokers)


LOG_TAIL_MAX = 5000
ONCE_TIMEOUT_S = 10.0
"""How long a log request without ``follow`` waits for the device's lines."""


@ROUTES.get(BASE + "/{id}/logs")
async def device_log(request: web.Request) -> web.StreamResponse:
    hub, ns = request.app[TUNNEL], namespace(request)
    tail, follow = _tail(request), query_bool(request.query, "follow")
    id = check_invoker_id(request.match_info["id"])
    device = hub.devices.get(id)
    if device is None or device.namespace != ns:
        relayed = await _from_holder(request, id)
        if relayed is not None:
            return relayed
        if id in hub.registry and id not in hub.devices:
            raise BadRequest(f"The invoker {id!r} is local: its log is the controller's own.")
        raise NotFound(f"The edge invoker {id!r} is not known to this controller.")
    if not device.streams_logs:
        raise Conflict(f"The agent of {id!r} (version {device.register.agent_version}) does "
                       "not stream its log; upgrade it.")
    if device.session is None and not follow:
        raise Conflict(f"The edge invoker {id!r} is not connected; ask with follow=true to "
                       "wait for it.")
    reader = await device.logs.open(tail, follow, device.send)
    response = web.StreamResponse(headers={"Content-Type": "text/plain; charset=utf-8"})
    try:
        await response.prepare(request)
        while True:
            batch = await (reader.queue.get() if follow
                           else asyncio.wait_for(reader.queue.get(), ONCE_TIMEOUT_S))
            if batch is None:
                break
            await response.write(("\n".join(batch) + "\n").encode())
    except TimeoutError:
        pass  # the device did not answer in time: what arrived is the answer
    finally:
        await device.logs.close(reader, device.send)
    await response.write_eof()
    return response


async def _from_holder(request: web.Request, id: str) -> web.StreamResponse | None:
    """The log of a device another controller of the cluster holds, streamed from that
    controller with the caller's key (its answer as it is, errors included); None when the
    device is not a peer's, or the request was itself relayed here."""
    node = request.app.get(NODE)
    peer = None if node is None else node.membership.peers.get(id)
    if node is None or peer is None or FORWARDED in request.headers:
        return None
    url = node.api_of(peer.holder)
    if url is None:
        raise ServiceUnavailable(f"controller {peer.holder}, which holds invoker {id!r}, "
                                 "publishes no API address")
    async with node.sharding.relay(peer.holder, url, request.path_qs,
                                   request.headers) as answer:
        response = web.StreamResponse(status=answer.status, headers={
            "Content-Type": answer.headers.get("Content-Type", "text/plain; charset=utf-8")})
        await response.prepare(request)
        async for chunk in answer.content.iter_any():
            await response.write(chunk)
    await response.write_eof()
    return response


def _tail(request: web.Request) -> int:
    tail = query_int(request.query, "tail", 100)
    if not 0 <= tail <= LOG_TAIL_MAX:
        raise BadRequest(f"tail must be from 0 to {LOG_TAIL_MAX}, got {tail}.")
    return tail
