"""Actions: ``/api/v1/namespaces/{ns}/actions[/{pkg}]/{name}`` — CRUD, list, invoke.

An action lives in the default package (``actions/{name}``) or in a package
(``actions/{pkg}/{name}``, listed by ``GET actions/{pkg}/``), as upstream's
``WhiskActionsApi.innerRoutes``. Reads and invokes go through ``dispatch/resolve.py``: a
binding reaches its package's actions with the inherited parameters, and another namespace's
actions are reachable only in a package it published (403 otherwise). Writes are the caller's
own: an action is put into a package, never into a binding (400).

Invoke answers as upstream: non-blocking -> 202 ``{"activationId"}``; blocking and done ->
the record (or its result with ``result=true``) with 200 on success, 502 on an application
or developer error, 500 on a whisk error; still running when the wait ends -> 202. Every
invoke answer carries ``X-OW-Activation-Id``. A blocking wait is at most 60 s (``timeout``
in ms lowers it), as upstream's ``maxWaitForBlockingActivation``. An invoke that fans out
(an unbound ``{usr}``) answers the parent activation plus ``"fanout"`` naming every child
(``dispatch/fanout.py``). Parameters of a ``final: true`` action may not be overridden (400).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web
from edgewhisk_tunnel import is_valid_id

from ..dispatch import resolve
from ..dispatch import sequence as sequences
from ..exceptions import BadRequest, NotFound
from ..keys import DISPATCHER, STORE, shares_reads
from ..schema import action as schema
from ..schema import activation as act
from ..schema import package as packages
from ..schema import stored
from ..schema.entity import (
    PAYLOAD_MAX,
    check_name,
    check_payload,
    object_body,
    public,
    query_bool,
    query_int,
)
from ..tunnel import TUNNEL
from .activations import waiting_body
from .crud import list_response, new_document
from .request import (
    activation_headers,
    charge_invoke,
    check_collection,
    entity_name,
    entity_response,
    json_response,
    namespace,
    own_namespace,
    read_json,
    subject,
)

ROUTES = web.RouteTableDef()
INVOKE = web.RouteTableDef()
"""The invoke routes alone, mounted first (``api/__init__.py``): aiohttp tries every resource
under ``/api/v1/namespaces`` in order, one regular expression each, and an invoke is the hot
path (no other resource matches a POST to an action's path, so the order changes no answer)."""
COLL = "actions"
BASE = "/api/v1/namespaces/{ns}/actions"
SITE_HEADER = "X-Edgewhisk-Site"  # the caller's site, for placement's Proximity score
MAX_WAIT_MS = 60_000
STATUS_OF_CODE = act.BLOCKING_STATUS
"""HTTP status of a blocking answer by ``response.statusCode`` (success, application error,
developer error, whisk internal error; shared with the device's local API)."""


@ROUTES.get(BASE)
async def list_actions(request: web.Request) -> web.Response:
    return await list_response(request, COLL, schema.summary)


@ROUTES.get(BASE + "/{pkg}/")
@shares_reads
async def list_package_actions(request: web.Request) -> web.Response:
    store, ns = request.app[STORE], namespace(request)
    package = await resolve.resolve_package(store, subject(request).namespace, ns,
                                            check_name(request.match_info["pkg"], "package"))
    return await list_response(request, COLL, schema.summary, ns=package.path)


@ROUTES.put(BASE + "/{name}")
@ROUTES.put(BASE + "/{pkg}/{name}")
async def put_action(request: web.Request) -> web.Response:
    ns, store = own_namespace(request), request.app[STORE]
    home = await _writable_home(request, ns)
    doc, _ = await new_document(request, COLL, schema.build, ns=home, limit=schema.DOCUMENT_MAX)
    if stored.is_sequence(doc):
        await sequences.check_components(store, ns, stored.action_path(ns, doc),
                                         doc["exec"]["components"])
    await store.put(COLL, doc)
    await _devices_resync(request, ns)
    return entity_response(doc)


@ROUTES.get(BASE + "/{name}")
@ROUTES.get(BASE + "/{pkg}/{name}")
@shares_reads
async def get_action(request: web.Request) -> web.Response:
    doc = (await resolved_action(request)).action
    if not query_bool(request.query, "code", True):
        return json_response(schema.without_code(doc))
    return entity_response(doc)


@ROUTES.delete(BASE + "/{name}")
@ROUTES.delete(BASE + "/{pkg}/{name}")
async def delete_action(request: web.Request) -> web.Response:
    ns, store = own_namespace(request), request.app[STORE]
    home, name = await _writable_home(request, ns), entity_name(request)
    doc = await store.get(COLL, stored.path(home, name)) if home != ns else None
    if doc is None:
        doc = (await resolved_action(request)).action
    await store.delete(COLL, doc["_id"], doc["_rev"])
    await _devices_resync(request, ns)
    return entity_response(doc)


async def _devices_resync(request: web.Request, ns: str) -> None:
    """The namespace's connected devices hear of the change to the actions they may keep
    offline (``policy.offline``; ``dispatch/offline.py``)."""
    hub = request.app.get(TUNNEL)
    if hub is not None:
        await hub.offline_changed(ns)


@INVOKE.post(BASE + "/{name}")
@INVOKE.post(BASE + "/{pkg}/{name}")
@shares_reads
async def invoke_action(request: web.Request) -> web.Response:
    blocking = query_bool(request.query, "blocking")
    only_result = query_bool(request.query, "result")
    wait_ms = query_int(request.query, "timeout", MAX_WAIT_MS)
    if not 0 < wait_ms <= MAX_WAIT_MS:
        raise BadRequest(f"timeout: {wait_ms} ms is out of range; it must be from 1 to "
                         f"{MAX_WAIT_MS} ms")
    params = object_body(await read_json(request, limit=PAYLOAD_MAX), "invocation parameters")
    resolved = await resolved_action(request)
    if stored.final_parameters(resolved.action) & params.keys():
        raise BadRequest(stored.PARAMETERS_NOT_ALLOWED)
    check_payload(stored.merged_parameters(resolved.action, params))  # what it gets: <= 1 MiB
    caller = subject(request)
    charge_invoke(request, caller.namespace)  # 429; the caller pays, in a shared package too
    invocation = await request.app[DISPATCHER].invoke(
        caller.namespace, resolved.action, params, subject=caller.subject, blocking=blocking,
        wait_s=wait_ms / 1000,
        api_key=caller.api_key,  # the dispatcher passes it on only to provide-api-key actions
        site=request.headers.get(SITE_HEADER) or None, binding=resolved.binding,
        asker=asking_device(request),
    )
    headers = activation_headers(invocation.activation_id)
    if not blocking or invocation.record is None:
        body: dict[str, Any] = {"activationId": invocation.activation_id}
        if invocation.fanout is not None:
            body["fanout"] = invocation.fanout
        if invocation.waiting is not None:  # a blocking caller: it waits to be placed
            body.update(waiting_body(invocation.waiting))
        return json_response(body, 202, **headers)
    if invocation.fanout is not None:  # the parent record, with each finished child's response
        response = invocation.record["response"]
        result = {**response["result"], "fanout": invocation.fanout}
        record = {**invocation.record, "response": {**response, "result": result},
                  "fanout": invocation.fanout}
        return blocking_response(record, only_result, headers)
    return blocking_response(invocation.record, only_result, headers)


def asking_device(request: web.Request) -> str | None:
    """``X-Edgewhisk-Asking-Device`` when it is an invoker id; None otherwise (ignored)."""
    value = request.headers.get(act.ASKING_DEVICE_HEADER)
    return value if value is not None and is_valid_id(value) else None


def blocking_response(record: Mapping[str, Any], only_result: bool,
                      headers: dict[str, str]) -> web.Response:
    response = record.get("response", {})
    status = STATUS_OF_CODE.get(response.get("statusCode", 3), 500)
    body = response.get("result", {}) if only_result else public(record)
    return json_response(body, status, **headers)


async def resolved_action(request: web.Request) -> resolve.Resolved:
    """The action the path names, as the caller may read and run it (404, 403; 409 when the
    name belongs to another collection of the namespace)."""
    ns, name, pkg = namespace(request), entity_name(request), request.match_info.get("pkg")
    store, caller = request.app[STORE], subject(request).namespace
    if pkg is not None:
        return await resolve.resolve_action(store, caller, ns, f"{check_name(pkg)}/{name}")
    try:
        return await resolve.resolve_action(store, caller, ns, name)
    except NotFound:
        await check_collection(store, COLL, ns, name)
        raise


async def _writable_home(request: web.Request, ns: str) -> str:
    """Where a PUT or DELETE of the path's action writes: ``ns``, or ``ns/pkg`` for a package
    of the caller's (404 when there is none, 400 for a binding, as upstream)."""
    pkg = request.match_info.get("pkg")
    if pkg is None:
        return ns
    package = await request.app[STORE].get(packages.COLLECTION, stored.path(ns, check_name(pkg)))
    if packages.is_binding(package):
        raise BadRequest(packages.NOT_ALLOWED_ON_BINDING)
    return stored.path(ns, pkg)
