"""Triggers: ``/api/v1/namespaces/{ns}/triggers[/{name}]`` — CRUD, list, fire.

Firing hands the trigger to ``Dispatcher.fire``, which records the trigger activation and
invokes each active rule's action without blocking: 202 ``{"activationId"}``. A trigger with
no active rule answers 204 and records nothing, as upstream. The payload with the trigger's
parameters is validated, then the fire charged to the namespace's rate (429), before any
rule fires.
"""

from __future__ import annotations

from aiohttp import web

from ..keys import CONFIG, DISPATCHER, STORE, THROTTLE
from ..schema import trigger as schema
from ..schema.entity import PAYLOAD_MAX, check_payload, object_body
from ..schema.stored import merged_parameters
from .crud import delete_requested, list_response, put_document, requested
from .request import (
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
    return entity_response(await put_document(request, COLL, schema.build))


@ROUTES.get("/api/v1/namespaces/{ns}/triggers/{name}")
async def get_trigger(request: web.Request) -> web.Response:
    return entity_response(await requested(request, COLL))


@ROUTES.delete("/api/v1/namespaces/{ns}/triggers/{name}")
async def delete_trigger(request: web.Request) -> web.Response:
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
                         **{"X-OW-Activation-Id": activation_id})
