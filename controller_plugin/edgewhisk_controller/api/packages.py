"""Packages: ``/api/v1/namespaces/{ns}/packages[/{name}]`` — CRUD and list, as upstream's
``WhiskPackagesApi``.

A package holds actions that share its parameters; a binding (``binding: {namespace, name}``)
points to a package, its own parameters merged over the package's. A package is shared with
every namespace by ``publish: true``: others may list it (their listing of this namespace shows
only published packages), get it, bind to it and run its actions, never change it. ``GET`` of a
package adds its ``actions`` and ``feeds`` (actions with a ``feed`` annotation); of a binding,
the bound package's, with the merged parameters. ``DELETE`` of a package that still holds
actions is a 409 unless ``force=true`` (which deletes them first).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..dispatch import resolve
from ..exceptions import BadRequest, Conflict, Forbidden
from ..keys import STORE, shares_reads
from ..schema import package as schema
from ..schema import stored
from ..schema.entity import page, public, query_bool
from ..stores import Store
from ..stores.interface import get_or_none
from .crud import list_response, new_document, requested
from .request import entity_name, entity_response, json_response, namespace, own_namespace, subject

ROUTES = web.RouteTableDef()
COLL = schema.COLLECTION
BASE = "/api/v1/namespaces/{ns}/packages"


@ROUTES.get(BASE)
@shares_reads
async def list_packages(request: web.Request) -> web.Response:
    ns, store = namespace(request), request.app[STORE]
    if ns == subject(request).namespace:
        return await list_response(request, COLL, schema.summary)
    shared = [doc for doc in await store.list(COLL, filters={"namespace": ns, "publish": True})
              if not schema.is_binding(doc)]
    if query_bool(request.query, "count"):
        return json_response({COLL: len(shared)})
    limit, skip = page(request.query)
    return json_response([schema.summary(doc) for doc in shared[skip:skip + limit]])


@ROUTES.put(BASE + "/{name}")
async def put_package(request: web.Request) -> web.Response:
    ns, store = own_namespace(request), request.app[STORE]
    doc, _ = await new_document(request, COLL, schema.build)
    if doc[schema.BINDING]:
        await _check_binding(store, ns, doc[schema.BINDING])
    await store.put(COLL, doc)
    return entity_response(doc)


@ROUTES.get(BASE + "/{name}")
@shares_reads
async def get_package(request: web.Request) -> web.Response:
    store, caller = request.app[STORE], subject(request).namespace
    found = await resolve.resolve_package(store, caller, namespace(request), entity_name(request))
    shown = dict(found.binding or found.package, parameters=found.parameters)
    contents = await store.list(stored.ACTIONS, filters={"namespace": found.path})
    return json_response({
        **public(shown),
        "actions": [schema.content_entry(a) for a in contents if not schema.is_feed(a)],
        "feeds": [schema.content_entry(a) for a in contents if schema.is_feed(a)],
    })


@ROUTES.delete(BASE + "/{name}")
async def delete_package(request: web.Request) -> web.Response:
    own_namespace(request)
    store, doc = request.app[STORE], await requested(request, COLL)
    if not schema.is_binding(doc):
        path = stored.path(doc["namespace"], doc["name"])
        contents = await store.list(stored.ACTIONS, filters={"namespace": path})
        if contents and not query_bool(request.query, "force"):
            raise Conflict(schema.package_not_empty(len(contents)))
        for action in contents:
            await store.delete(stored.ACTIONS, action["_id"], action["_rev"])
    await store.delete(COLL, doc["_id"], doc["_rev"])
    return entity_response(doc)


async def _check_binding(store: Store, ns: str, target: dict[str, Any]) -> None:
    """Upstream's ``checkBinding``: the bound package exists (400), may be read (403) and is
    not a binding itself (400)."""
    bound = await get_or_none(store, COLL, stored.path(target["namespace"], target["name"]))
    if bound is None:
        raise BadRequest(schema.BINDING_DOES_NOT_EXIST)
    if not resolve.may_read(ns, target["namespace"], bound):
        raise Forbidden()
    if schema.is_binding(bound):
        raise BadRequest(schema.BINDING_CANNOT_REFERENCE_BINDING)
