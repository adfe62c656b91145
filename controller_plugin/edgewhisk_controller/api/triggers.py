"""Triggers: ``/api/v1/namespaces/{ns}/triggers[/{name}]`` — CRUD, list, fire.

Firing hands the trigger to ``Dispatcher.fire``, which records the trigger activation and
invokes each active rule's action without blocking: 202 ``{"activationId"}``. A trigger with
no active rule answers 204 and records nothing, as upstream. The payload with the trigger's
parameters is validated, then the fire charged to the namespace's rate (429), before any
rule fires. A trigger with a ``feed`` annotation gets the feed's lifecycle events from here for
clients that do not send them (``dispatch/feeds.py``): ``CREATE`` when created with parameters,
``DELETE`` when deleted.
"""

from __future__ import annotations

from aiohttp import web

from ..dispatch import feeds
from ..exceptions import ControllerError
from ..keys import CONFIG, DISPATCHER, STORE, THROTTLE
from ..schema import trigger as schema
from ..schema.entity import PAYLOAD_MAX, check_payload, object_body
from ..schema.stored import merged_parameters
from .crud import delete_requested, list_response, new_document, requested
from .request import (
    activation_headers,
    entity_name,
    entity_response,
    get_entity,
    json_response,
    namespace,
    read_json,
    subject,
)

ROUTES = web.RouteTableDef()
COLL = "triggers"


@ROUTES.get("/api/v1/namespaces/{ns}/triggers")
async def list_triggers(request: web.Request) -> web.Response:
    return await list_response(request, COLL)


@ROUTES.put("/api/v1/namespaces/{ns}/triggers/{name}")
async def put_trigger(request: web.Request) -> web.Response:
    # the previous _rev travels along: a rule written meanwhile makes this a 409, not a loss
    store = request.app[STORE]
    doc, previous = await new_document(request, COLL, schema.build)
    feed_parameters = feeds.takes_parameters(doc) if previous is None else None
    doc["_rev"] = await store.put(COLL, doc)
    if feed_parameters:
        caller = subject(request)
        try:
            await feeds.send(request.app[DISPATCHER], doc, "CREATE", feed_parameters,
                             subject=caller.subject, api_key=caller.api_key)
        except ControllerError:
            await store.delete(COLL, doc["_id"], doc["_rev"])  # as wsk does: no feed, no trigger
            raise
    return entity_response(doc)


@ROUTES.get("/api/v1/namespaces/{ns}/triggers/{name}")
async def get_trigger(request: web.Request) -> web.Response:
    return entity_response(await requested(request, COLL))


@ROUTES.delete("/api/v1/namespaces/{ns}/triggers/{name}")
async def delete_trigger(request: web.Request) -> web.Response:
    caller = subject(request)
    await feeds.deleted(request.app[DISPATCHER], await requested(request, COLL),
                        subject=caller.subject, api_key=caller.api_key)
    return entity_response(await delete_requested(request, COLL))


@ROUTES.post("/api/v1/namespaces/{ns}/triggers/{name}")
async def fire_trigger(request: web.Request) -> web.Response:
    ns, name = namespace(request), entity_name(request)
    params = object_body(await read_json(request, limit=PAYLOAD_MAX), "trigger parameters")
    doc = await get_entity(request.app[STORE], COLL, ns, name)
    check_payload(merged_parameters(doc, params), "trigger parameters")  # before the charge
    request.app[THROTTLE].fire(ns, request.app[CONFIG].limits_for(ns))  # 429
    caller = subject(request)
    activation_id = await request.app[DISPATCHER].fire(
        ns, doc, params, subject=caller.subject, api_key=caller.api_key
    )
    if activation_id is None:  # no active rule: nothing fired, nothing recorded
        return web.Response(status=204)
    return json_response({"activationId": activation_id}, 202,
                         **activation_headers(activation_id))
