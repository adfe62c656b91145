"""The CRUD steps every stored entity (actions, triggers, rules) answers the same way.

Each resource module keeps its own specifics (an action's ``code=false``, a rule's trigger
sync) and calls these for the rest, so listing, paging, ``overwrite`` and revisions behave
alike on every resource. Artifacts are not entities of this kind: versions are numbered by
the registry (``api/artifacts.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from ..exceptions import Conflict
from ..keys import STORE
from ..schema.entity import DOCUMENT_MAX, check_document_size, page, public, query_bool
from ..stores.interface import get_or_none
from .request import entity_name, get_entity, json_response, namespace, read_json

Build = Callable[[str, str, Any, Mapping[str, Any] | None], dict[str, Any]]
"""A schema's ``build(ns, name, body, previous)``: the document a PUT stores."""


async def list_response(request: web.Request, coll: str,
                        summary: Callable[[dict[str, Any]], Any] = public) -> web.Response:
    """The namespace's ``coll`` paged by ``limit``/``skip``, or ``{coll: n}`` with ``count``."""
    ns, store = namespace(request), request.app[STORE]
    if query_bool(request.query, "count"):
        return json_response({coll: await store.count(coll, prefix=f"{ns}/")})
    limit, skip = page(request.query)
    docs = await store.list(coll, prefix=f"{ns}/", limit=limit, skip=skip)
    return json_response([summary(doc) for doc in docs])


async def requested(request: web.Request, coll: str) -> dict[str, Any]:
    """The stored entity the path names; 404 naming it when absent."""
    return await get_entity(request.app[STORE], coll, namespace(request), entity_name(request))


async def new_document(request: web.Request, coll: str, build: Build, *,
                       limit: int = DOCUMENT_MAX) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The document a PUT asks for and the one it replaces (None for a new entity).

    An existing entity is replaced only with ``overwrite=true`` (else 409). The new
    document carries the previous ``_rev``, so a write made meanwhile (a rule's entry in
    its trigger, another PUT) makes the store answer 409 rather than lose it. A body over
    ``limit`` bytes is a 413 (an action's is larger: its code).
    """
    ns, name, store = namespace(request), entity_name(request), request.app[STORE]
    body = await read_json(request, limit=limit)
    previous = await get_or_none(store, coll, f"{ns}/{name}")
    if previous is not None and not query_bool(request.query, "overwrite"):
        raise Conflict("The resource already exists; use overwrite=true to update it.")
    doc = build(ns, name, body, previous)
    check_document_size(doc)
    if previous is not None:
        doc["_rev"] = previous["_rev"]
    return doc, previous


async def put_document(request: web.Request, coll: str, build: Build, *,
                       limit: int = DOCUMENT_MAX) -> dict[str, Any]:
    """Build the PUT's document (``new_document``), store it and return it."""
    doc, _ = await new_document(request, coll, build, limit=limit)
    await request.app[STORE].put(coll, doc)
    return doc


async def delete_requested(request: web.Request, coll: str) -> dict[str, Any]:
    """Delete the entity the path names (404 when absent) and return what was deleted."""
    doc = await requested(request, coll)
    await request.app[STORE].delete(coll, doc["_id"], doc["_rev"])
    return doc
