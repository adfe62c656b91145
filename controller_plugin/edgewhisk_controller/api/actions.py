"""Actions: ``/api/v1/namespaces/{ns}/actions[/{name}]`` — CRUD, list, invoke.

Invoke answers as upstream: non-blocking -> 202 ``{"activationId"}``; blocking and done ->
the record (or its result with ``result=true``) with 200 on success, 502 on an application
or developer error, 500 on a whisk error; still running when the wait ends -> 202. Every
invoke answer carries ``X-OW-Activation-Id``. A blocking wait is at most 60 s (``timeout``
in ms lowers it), as upstream's ``maxWaitForBlockingActivation``. An invoke that fans out
(an unbound ``{usr}``) answers the parent activation plus ``"fanout"`` naming every child
(``dispatch/fanout.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from ..exceptions import BadRequest
from ..keys import CONFIG, DISPATCHER, STORE, THROTTLE
from ..schema import action as schema
from ..schema.entity import (
    PAYLOAD_MAX,
    check_payload,
    object_body,
    public,
    query_bool,
    query_int,
)
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
COLL = "actions"
SITE_HEADER = "X-Edgewhisk-Site"  # the caller's site, for placement's Proximity score
MAX_WAIT_MS = 60_000
STATUS_OF_CODE = {0: 200, 1: 502, 2: 502, 3: 500}
"""HTTP status of a blocking answer by ``response.statusCode`` (success, application error,
developer error, whisk internal error)."""


@ROUTES.get("/api/v1/namespaces/{ns}/actions")
async def list_actions(request: web.Request) -> web.Response:
    return await list_response(request, COLL, schema.summary)


@ROUTES.put("/api/v1/namespaces/{ns}/actions/{name}")
async def put_action(request: web.Request) -> web.Response:
    return entity_response(await put_document(request, COLL, schema.build,
                                              limit=schema.DOCUMENT_MAX))


@ROUTES.get("/api/v1/namespaces/{ns}/actions/{name}")
async def get_action(request: web.Request) -> web.Response:
    doc = await requested(request, COLL)
    if not query_bool(request.query, "code", True):
        return json_response(schema.without_code(doc))
    return entity_response(doc)


@ROUTES.delete("/api/v1/namespaces/{ns}/actions/{name}")
async def delete_action(request: web.Request) -> web.Response:
    return entity_response(await delete_requested(request, COLL))


@ROUTES.post("/api/v1/namespaces/{ns}/actions/{name}")
async def invoke_action(request: web.Request) -> web.Response:
    ns, name = namespace(request), entity_name(request)
    blocking = query_bool(request.query, "blocking")
    only_result = query_bool(request.query, "result")
    wait_ms = query_int(request.query, "timeout", MAX_WAIT_MS)
    if not 0 < wait_ms <= MAX_WAIT_MS:
        raise BadRequest(f"timeout: {wait_ms} ms is out of range; it must be from 1 to "
                         f"{MAX_WAIT_MS} ms")
    params = object_body(await read_json(request, limit=PAYLOAD_MAX), "invocation parameters")
    doc = await get_entity(request.app[STORE], COLL, ns, name)
    check_payload(merged_parameters(doc, params))  # what the action gets: <= 1 MiB, JSON
    dispatcher = request.app[DISPATCHER]
    request.app[THROTTLE].invoke(ns, request.app[CONFIG].limits_for(ns),  # 429, last check
                                 dispatcher.in_flight(ns))
    caller = subject(request)
    invocation = await dispatcher.invoke(
        ns, doc, params, subject=caller.subject, blocking=blocking, wait_s=wait_ms / 1000,
        api_key=caller.api_key,  # the dispatcher passes it on only to provide-api-key actions
        site=request.headers.get(SITE_HEADER) or None,
    )
    headers = {"X-OW-Activation-Id": invocation.activation_id}
    if not blocking or invocation.record is None:
        body: dict[str, Any] = {"activationId": invocation.activation_id}
        if invocation.fanout is not None:
            body["fanout"] = invocation.fanout
        return json_response(body, 202, **headers)
    if invocation.fanout is not None:  # the parent record, with each finished child's response
        response = invocation.record["response"]
        result = {**response["result"], "fanout": invocation.fanout}
        record = {**invocation.record, "response": {**response, "result": result},
                  "fanout": invocation.fanout}
        return blocking_response(record, only_result, headers)
    return blocking_response(invocation.record, only_result, headers)


def blocking_response(record: Mapping[str, Any], only_result: bool,
                      headers: dict[str, str]) -> web.Response:
    response = record.get("response", {})
    status = STATUS_OF_CODE.get(response.get("statusCode", 3), 500)
    body = response.get("result", {}) if only_result else public(record)
    return json_response(body, status, **headers)
