"""What every handler reads from a request: the caller, its namespace, a JSON body."""

from __future__ import annotations

import json
from typing import Any

import edgewhisk_json
from aiohttp import web

from ..auth import Subject
from ..exceptions import BadRequest, NotFound
from ..keys import NAMESPACE, SUBJECT
from ..schema.entity import DOCUMENT_MAX, check_name, public
from ..stores import Store
from ..stores.interface import get_or_none
from . import body


def subject(request: web.Request) -> Subject:
    return request[SUBJECT]


def namespace(request: web.Request) -> str:
    """The path's namespace, already resolved and authorised by the auth middleware."""
    return request[NAMESPACE]


def entity_name(request: web.Request) -> str:
    return check_name(request.match_info["name"])


async def read_json(request: web.Request, *, limit: int = DOCUMENT_MAX) -> Any:
    """The body as strict JSON (None when empty): 400 when it is not standard JSON within
    ``edgewhisk_json``'s limits, 413 over ``limit`` bytes (default: a trigger's or rule's
    document), 408 when it does not arrive in time (``body.py``). Nothing has happened yet
    when any of these is raised."""
    raw = await body.read(request, limit)
    if not raw.strip():
        return None
    try:
        return edgewhisk_json.loads(raw)
    except edgewhisk_json.JSONError as exc:
        raise BadRequest(f"The request content was malformed: {exc.reason}.") from None


async def get_entity(store: Store, coll: str, ns: str, name: str) -> dict[str, Any]:
    """The stored ``ns/name`` of ``coll``, 404 naming it when absent."""
    doc = await get_or_none(store, coll, f"{ns}/{name}")
    if doc is None:
        raise not_found(coll, name)
    return doc


def not_found(coll: str, name: str) -> NotFound:
    """404 naming the entity (``coll`` is the plural collection, e.g. ``actions``)."""
    return NotFound(f"The requested resource does not exist: {coll[:-1]} {name!r}.")


def json_response(body: Any, status: int = 200, **headers: str) -> web.Response:
    return web.json_response(body, status=status, headers=headers or None,
                             dumps=_dumps)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def entity_response(doc: dict[str, Any]) -> web.Response:
    return json_response(public(doc))
