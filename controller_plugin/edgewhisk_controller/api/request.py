"""What every handler reads from a request: the caller, its namespace, a JSON body."""

from __future__ import annotations

import json
from typing import Any

import edgewhisk_json
from aiohttp import web

from ..auth import Subject
from ..exceptions import BadRequest, Conflict, Forbidden, NotFound
from ..keys import CONFIG, DISPATCHER, NAMESPACE, SUBJECT, THROTTLE
from ..schema.entity import DOCUMENT_MAX, check_name, public
from ..stores import Store
from ..stores.interface import get_or_none
from . import body


def subject(request: web.Request) -> Subject:
    return request[SUBJECT]


def namespace(request: web.Request) -> str:
    """The path's namespace, already resolved and authorised by the auth middleware (for a
    handler marked ``shares_reads``, possibly another namespace: see ``own_namespace``)."""
    return request[NAMESPACE]


def own_namespace(request: web.Request) -> str:
    """The path's namespace, which must be the caller's (403 otherwise): what a handler that
    shares reads calls before it writes."""
    ns = request[NAMESPACE]
    if ns != request[SUBJECT].namespace:
        raise Forbidden()
    return ns


def charge_invoke(request: web.Request, ns: str) -> None:
    """Count an invoke against ``ns``'s limits (429 over its rate or its activations in
    flight): the last check before an activation starts, so a refused one ran nothing."""
    request.app[THROTTLE].invoke(ns, request.app[CONFIG].limits_for(ns),
                                 request.app[DISPATCHER].in_flight(ns))


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
        await check_collection(store, coll, ns, name)
        raise NotFound()  # upstream's exact text: clients compare it
    return doc


ENTITY_COLLECTIONS = ("actions", "triggers", "rules", "packages")
"""Upstream keeps these in one database keyed ``ns/name``: one collection of names."""
CONFORMANCE = "Resource by this name exists but is not in this collection."
"""Upstream's ``Messages.conformanceMessage``."""


async def check_collection(store: Store, coll: str, ns: str, name: str) -> None:
    """409 when ``ns/name`` is taken by an entity of another collection: an action may not
    take a trigger's or a package's name, as upstream's ``DocumentTypeMismatchException``."""
    if coll not in ENTITY_COLLECTIONS:
        return
    for other in ENTITY_COLLECTIONS:
        if other != coll and await get_or_none(store, other, f"{ns}/{name}") is not None:
            raise Conflict(CONFORMANCE)


def json_response(body: Any, status: int = 200, **headers: str) -> web.Response:
    return web.json_response(body, status=status, headers=headers or None,
                             dumps=_dumps)


_dumps = json.JSONEncoder(separators=(",", ":")).encode
"""Made once: ``json.dumps`` with any option builds a new encoder on every call."""


def entity_response(doc: dict[str, Any]) -> web.Response:
    return json_response(public(doc))


def activation_headers(activation_id: str) -> dict[str, str]:
    """The headers naming an answer's activation: upstream's ``x-openwhisk-activation-id``
    (``Entities.ActivationIdHeader``) and the ``X-OW-Activation-Id`` this API always sent."""
    return {"X-OW-Activation-Id": activation_id, "x-openwhisk-activation-id": activation_id}
