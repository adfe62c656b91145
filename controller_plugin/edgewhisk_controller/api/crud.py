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
from ..stores.interface import Scalar, get_or_none
from .request import (
    check_collection,
    entity_name,
    get_entity,
    json_response,
    namespace,
    own_namespace,
    read_json,
)

Build = Callable[[str, str, Any, Mapping[str, Any] | None], dict[str, Any]]
"""A schema's ``build(ns, name, body, previous)``: the document a PUT stores."""
EXISTS = "resource already exists"
"""Upstream's answer to a PUT of an existing entity without ``overwrite=true``."""


async def list_response(request: web.Request, coll: str,
                        summary: Callable[[dict[str, Any]], Any] = public, *,
                        ns: str | None = None,
                        filters: Mapping[str, Scalar] | None = None) -> web.Response:
    """The entities of ``coll`` in namespace ``ns`` (default: the path's; ``ns/pkg`` for a
    package's actions) paged by ``limit``/``skip``, or ``{coll: n}`` with ``count``."""
    store = request.app[STORE]
    selection = {"namespace": ns or namespace(request), **(filters or {})}
    if query_bool(request.query, "count"):
        return json_response({coll: await store.count(coll, filters=selection)})
    limit, skip = page(request.query)
    docs = await store.list(coll, filters=selection, limit=limit, skip=skip)
    return json_response([summary(doc) for doc in docs])


async def requested(request: web.Request, coll: str) -> dict[str, Any]:
    """The stored entity the path names; 404 naming it when absent."""
    return await get_entity(request.app[STORE], coll, namespace(request), entity_name(request))


async def new_document(request: web.Request, coll: str, build: Build, *,
                       ns: str | None = None, limit: int = DOCUMENT_MAX,
                       ) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The document a PUT asks for and the one it replaces (None for a new entity).

    An existing entity is replaced only with ``overwrite=true`` (else 409, upstream's
    ``resource already exists``); a name another collection of the namespace holds is a 409
    too (one collection of names). The new document carries the previous ``_rev``, so a write
    made meanwhile (a rule's entry in its trigger, another PUT) makes the store answer 409
    rather than lose it. ``ns`` is ``ns/pkg`` for an action in a package. A body over
    ``limit`` bytes is a 413 (an action's is larger: its code).
    """
    ns = ns or own_namespace(request)
    name, store = entity_name(request), request.app[STORE]
    body = await read_json(request, limit=limit)
    previous = await get_or_none(store, coll, f"{ns}/{name}")
    if previous is None:
        await check_collection(store, coll, ns, name)
    elif not query_bool(request.query, "overwrite"):
        raise Conflict(EXISTS)
    doc = build(ns, name, body, previous)
    check_document_size(doc)
    if previous is not None:
        doc["_rev"] = previous["_rev"]
    return doc, previous


async def put_document(request: web.Request, coll: str, build: Build, *,
                       ns: str | None = None, limit: int = DOCUMENT_MAX) -> dict[str, Any]:
    """Build the PUT's document (``new_document``), store it and return it."""
    doc, _ = await new_document(request, coll, build, ns=ns, limit=limit)
    await request.app[STORE].put(coll, doc)
    return doc


async def delete_requested(request: web.Request, coll: str) -> dict[str, Any]:
    """Delete the entity the path names (404 when absent) and return what was deleted."""
    doc = await requested(request, coll)
    await request.app[STORE].delete(coll, doc["_id"], doc["_rev"])
    return doc
