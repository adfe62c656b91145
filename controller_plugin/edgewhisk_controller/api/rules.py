"""Rules: ``/api/v1/namespaces/{ns}/rules[/{name}]`` — CRUD, list, enable/disable.

A rule lives twice: its own document, and an entry in its trigger's ``rules`` map, which is
what ``Dispatcher.fire`` reads. Writes go rule first, then the trigger through
``stores.update`` (read-modify-write with retries), so concurrent rule changes on one trigger
never lose each other's entries; deletes go the other way round, so a trigger never fires a
rule whose document is gone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from ..exceptions import NotFound
from ..keys import STORE
from ..schema import rule as schema
from ..schema import stored
from ..schema.entity import check_fields, object_body
from ..stores import NotFound as StoreNotFound
from ..stores import Store, update
from ..stores.interface import get_or_none
from .crud import list_response, new_document, requested
from .request import entity_name, entity_response, get_entity, namespace, read_json

ROUTES = web.RouteTableDef()
COLL = "rules"


@ROUTES.get("/api/v1/namespaces/{ns}/rules")
async def list_rules(request: web.Request) -> web.Response:
    return await list_response(request, COLL)


@ROUTES.put("/api/v1/namespaces/{ns}/rules/{name}")
async def put_rule(request: web.Request) -> web.Response:
    store = request.app[STORE]
    doc, previous = await new_document(request, COLL, schema.build)
    await _check_exists(store, "triggers", doc["trigger"])
    await _check_exists(store, stored.ACTIONS, doc["action"])
    await store.put(COLL, doc)
    key = doc["_id"]
    if previous is not None and previous["trigger"] != doc["trigger"]:
        await _sync(store, previous["trigger"], _without(key))
    await _sync(store, doc["trigger"], _with(key, schema.trigger_entry(doc)))
    return entity_response(doc)


@ROUTES.get("/api/v1/namespaces/{ns}/rules/{name}")
async def get_rule(request: web.Request) -> web.Response:
    return entity_response(await requested(request, COLL))


@ROUTES.delete("/api/v1/namespaces/{ns}/rules/{name}")
async def delete_rule(request: web.Request) -> web.Response:
    store = request.app[STORE]
    doc = await requested(request, COLL)
    await _sync(store, doc["trigger"], _without(doc["_id"]))
    await store.delete(COLL, doc["_id"], doc["_rev"])
    return entity_response(doc)


@ROUTES.post("/api/v1/namespaces/{ns}/rules/{name}")
async def set_rule_status(request: web.Request) -> web.Response:
    """``{"status": "active" | "inactive"}``: enable or disable the rule."""
    ns, name, store = namespace(request), entity_name(request), request.app[STORE]
    body = object_body(await read_json(request))
    check_fields(body, ("status",))
    status = schema.check_status(body.get("status"))
    await get_entity(store, COLL, ns, name)

    def set_status(doc: dict[str, Any]) -> dict[str, Any]:
        doc["status"] = status
        return doc

    doc = await update(store, COLL, f"{ns}/{name}", set_status)
    await _sync(store, doc["trigger"], _with(doc["_id"], schema.trigger_entry(doc)))
    return entity_response(doc)


async def _check_exists(store: Store, coll: str, ref: dict[str, str]) -> None:
    """404 with upstream's ``checkTriggerAndActionExist`` text when a rule's end is missing."""
    path = stored.path(ref["path"], ref["name"])
    if await get_or_none(store, coll, path) is None:
        raise NotFound(f"{coll[:-1]} /{path} does not exist")


Change = Callable[[dict[str, Any]], dict[str, Any]]


def _with(key: str, entry: dict[str, Any]) -> Change:
    def change(trigger: dict[str, Any]) -> dict[str, Any]:
        trigger.setdefault("rules", {})[key] = entry
        return trigger

    return change


def _without(key: str) -> Change:
    def change(trigger: dict[str, Any]) -> dict[str, Any]:
        trigger.get("rules", {}).pop(key, None)
        return trigger

    return change


async def _sync(store: Store, trigger: dict[str, str], change: Change) -> None:
    """Apply ``change`` to the trigger's ``rules`` map; a deleted trigger has none to keep."""
    try:
        await update(store, "triggers", f"{trigger['path']}/{trigger['name']}", change)
    except StoreNotFound:
        pass
