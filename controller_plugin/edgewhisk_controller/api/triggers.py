"""Triggers: ``/api/v1/namespaces/{ns}/triggers[/{name}]`` — CRUD, list, fire.

Firing hands the trigger to ``Dispatcher.fire``, which records the trigger activation and
invokes each active rule's action without blocking: 202 ``{"activationId"}``. A trigger with
no active rule answers 204 and records nothing, as upstream.
"""

from __future__ import annotations

from aiohttp import web

from ..exceptions import Conflict
from ..keys import DISPATCHER, STORE
from ..schema import trigger as schema
from ..schema.entity import PAYLOAD_MAX, object_body, page, public, query_bool
from .request import (
    entity_name,
    entity_response,
    get_entity,
    get_or_none,
    json_response,
    namespace,
    read_json,
    subject,
)

ROUTES = web.RouteTableDef()
COLL = "triggers"


@ROUTES.get("/api/v1/namespaces/{ns}/triggers")
async def list_triggers(request: web.Request) -> web.Response:
    ns, store = namespace(request), request.app[STORE]
    if query_bool(request.query, "count"):
        return json_response({COLL: await store.count(COLL, prefix=f"{ns}/")})
    limit, skip = page(request.query)
    docs = await store.list(COLL, prefix=f"{ns}/", limit=limit, skip=skip)
    return json_response([public(doc) for doc in docs])


@ROUTES.put("/api/v1/namespaces/{ns}/triggers/{name}")
async def put_trigger(request: web.Request) -> web.Response:
    ns, name, store = namespace(request), entity_name(request), request.app[STORE]
    body = await read_json(request)
    previous = await get_or_none(store, COLL, f"{ns}/{name}")
    if previous is not None and not query_bool(request.query, "overwrite"):
        raise Conflict("The resource already exists; use overwrite=true to update it.")
    doc = schema.build(ns, name, body, previous)
    if previous is not None:
        doc["_rev"] = previous["_rev"]  # a rule written meanwhile makes this a 409, not a loss
    await store.put(COLL, doc)
    return entity_response(doc)


@ROUTES.get("/api/v1/namespaces/{ns}/triggers/{name}")
async def get_trigger(request: web.Request) -> web.Response:
    return entity_response(
        await get_entity(request.app[STORE], COLL, namespace(request), entity_name(request))
    )


@ROUTES.delete("/api/v1/namespaces/{ns}/triggers/{name}")
async def delete_trigger(request: web.Request) -> web.Response:
    store = request.app[STORE]
    doc = await get_entity(store, COLL, namespace(request), entity_name(request))
    await store.delete(COLL, doc["_id"], doc["_rev"])
    return entity_response(doc)


@ROUTES.post("/api/v1/namespaces/{ns}/triggers/{name}")
async def fire_trigger(request: web.Request) -> web.Response:
    ns, name = namespace(request), entity_name(request)
    params = object_body(await read_json(request, limit=PAYLOAD_MAX), "trigger parameters")
    doc = await get_entity(request.app[STORE], COLL, ns, name)
    caller = subject(request)
    activation_id = await request.app[DISPATCHER].fire(
        ns, doc, params, subject=caller.subject, api_key=caller.api_key
    )
    if activation_id is None:  # no active rule: nothing fired, nothing recorded
        return web.Response(status=204)
    return json_response({"activationId": activation_id}, 202,
                         **{"X-OW-Activation-Id": activation_id})
