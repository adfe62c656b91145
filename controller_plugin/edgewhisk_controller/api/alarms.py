"""The alarm provider's API: what the ``/whisk.system/alarms`` feed actions call.

``PUT    /api/v1/namespaces/{ns}/alarms/{trigger}?kind=alarm|interval|once`` registers the
         schedule (the feed's CREATE; ``overwrite=true``: UPDATE, merging the given fields)
``GET    .../alarms/{trigger}``  its configuration and status (READ)
``POST   .../alarms/{trigger}`` ``{"status": "active"|"paused"}`` (UNPAUSE, PAUSE)
``DELETE .../alarms/{trigger}``  stops it (DELETE; idempotent: ``{}`` when there was none)

An edgewhisk extension under the namespace (OpenWhisk's alarm provider is a separate service
with its own API): the feed action calls it with the ``authKey`` it was given, so a schedule
can only ever fire a trigger of the key's own namespace, as that namespace.
"""

from __future__ import annotations

from aiohttp import web

from ..exceptions import BadRequest
from ..keys import ALARMS
from ..schema import alarm as schema
from ..schema.entity import check_name, object_body, query_bool
from .request import json_response, namespace, read_json, subject

ROUTES = web.RouteTableDef()
BASE = "/api/v1/namespaces/{ns}/alarms/{trigger}"


def _trigger(request: web.Request) -> str:
    return check_name(request.match_info["trigger"], "trigger")


@ROUTES.put(BASE)
async def register(request: web.Request) -> web.Response:
    kind = request.query.get("kind", "")
    doc = await request.app[ALARMS].register(
        namespace(request), _trigger(request), kind, await read_json(request),
        subject=subject(request).subject, replace=query_bool(request.query, "overwrite"))
    return json_response(schema.public(doc))


@ROUTES.get(BASE)
async def read(request: web.Request) -> web.Response:
    return json_response(schema.public(
        await request.app[ALARMS].get(namespace(request), _trigger(request))))


@ROUTES.post(BASE)
async def set_status(request: web.Request) -> web.Response:
    status = object_body(await read_json(request)).get("status")
    if status not in schema.STATUSES:
        raise BadRequest(f"status: {status!r} must be 'active' or 'paused'")
    doc = await request.app[ALARMS].set_status(namespace(request), _trigger(request), status)
    return json_response(schema.public(doc))


@ROUTES.delete(BASE)
async def delete(request: web.Request) -> web.Response:
    doc = await request.app[ALARMS].delete(namespace(request), _trigger(request))
    return json_response(schema.public(doc) if doc is not None else {})
