"""Activations: ``/api/v1/namespaces/{ns}/activations[/{id}[/result|/logs]]``.

The dispatcher writes the records (``schema/activation.py``); this module only reads them,
newest first, filtered by ``name`` and by ``since``/``upto`` (ms since the epoch, on
``start``). Without ``docs=true`` a listing leaves out ``response`` and ``logs`` and shows
``statusCode`` instead, as upstream. An id of another namespace is a 404: ids must not leak.
An id handed out is never a 404: an activation accepted and still running (its ``accepted``
document and no record yet, ``dispatch/journal.py``) answers 202 ``{"activationId"}``, as a
blocking invoke does when its wait ends first (upstream answers 404 until the record exists).
Every read first waits for the dispatcher's record writes in flight (``Dispatcher.written``).

Pending work (``policy.wait``, ``dispatch/pending.py``), an edgewhisk addition: ``?status=pending``
lists the namespace's activations waiting to be placed (what each waits for, since and until
when) instead of records; a pending one's ``GET`` answers 202 with the same; ``DELETE
.../activations/ID`` cancels a pending activation (its record, a whisk error saying so, is the
answer) and is a 409 for any other (OpenWhisk has no such call: nothing else is deleted).
In a cluster any controller answers for every controller's pending work: what each waits for
is in its accepted document, and a cancel is relayed to the controller that accepted the
activation (the one waiting on it).
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from ..cluster import NODE
from ..cluster.shard import FORWARDED
from ..exceptions import BadRequest, NotFound
from ..keys import DISPATCHER, STORE
from ..schema.activation import ACCEPTED
from ..schema.entity import check_name, page, public, query_bool, query_int
from ..stores import Store
from ..stores.interface import get_or_none
from .request import json_response, namespace

ROUTES = web.RouteTableDef()
COLL = "activations"
ACTIVATION_ID = re.compile(r"[0-9A-Za-z-]{1,64}")
BASE = "/api/v1/namespaces/{ns}/activations"


WAITING = "The activation is waiting for an invoker that satisfies its constraints."
STATUSES = ("pending",)


def waiting_body(info: dict[str, Any]) -> dict[str, Any]:
    """What a 202 of a pending activation adds to ``{"activationId"}``."""
    return {"status": "pending", "message": WAITING, "pending": info}


@ROUTES.get(BASE)
async def list_activations(request: web.Request) -> web.Response:
    ns, store, query = namespace(request), request.app[STORE], request.query
    if "status" in query:
        if query["status"] not in STATUSES:
            raise BadRequest(f"status: {query['status']!r} is not one of {', '.join(STATUSES)}")
        return json_response(await _pending(request, ns))
    filters: dict[str, str] = {"namespace": ns}
    if query.get("name"):
        filters["name"] = check_name(query["name"].split("/")[-1], "name")
    since, upto = query_int(query, "since", 0), query_int(query, "upto", 0)
    limit, skip = page(query)
    await request.app[DISPATCHER].written()
    if since or upto:
        docs = [doc for doc in await store.list(COLL, filters=filters, sort="start",
                                                descending=True)
                if (not since or doc["start"] >= since) and (not upto or doc["start"] <= upto)]
        if query_bool(query, "count"):
            return json_response({COLL: len(docs)})
        docs = docs[skip:skip + limit]
    elif query_bool(query, "count"):
        return json_response({COLL: await store.count(COLL, filters=filters)})
    else:
        docs = await store.list(COLL, filters=filters, sort="start", descending=True,
                                limit=limit, skip=skip)
    full = query_bool(query, "docs")
    return json_response([public(doc) if full else summary(doc) for doc in docs])


@ROUTES.get(BASE + "/{id}")
async def get_activation(request: web.Request) -> web.Response:
    doc = await _record(request)
    return doc if isinstance(doc, web.Response) else json_response(public(doc))


@ROUTES.delete(BASE + "/{id}")
async def cancel_activation(request: web.Request) -> web.Response:
    """Cancel a pending activation; its record (a whisk error saying so) is the answer."""
    activation_id, ns = request.match_info["id"], namespace(request)
    dispatcher = request.app[DISPATCHER]
    info = dispatcher.pending.describe(activation_id)
    if info is None or info["namespace"] != ns:
        accepted = await _find(request.app[STORE], ns, activation_id, ACCEPTED)
        if accepted is None and await _find(request.app[STORE], ns, activation_id) is None:
            raise NotFound()
        owner = _elsewhere(request, accepted)
        if owner is not None:  # pending at the controller that accepted it: its answer
            async with request.app[NODE].sharding.relay(*owner, request.path_qs,
                                                        request.headers, "DELETE") as answer:
                return web.Response(status=answer.status, body=await answer.read(),
                                    content_type=answer.content_type)
    return json_response(dict(await dispatcher.cancel(activation_id)))


def _elsewhere(request: web.Request, accepted: dict[str, Any] | None) -> tuple[str, str] | None:
    """The live controller that accepted ``accepted`` and its API URL, unless it is this
    one, the request came from another controller, or there is no cluster."""
    node = request.app.get(NODE)
    owner = None if accepted is None else accepted.get("owner")
    if node is None or owner is None or FORWARDED in request.headers:
        return None
    url = node.api_of(owner)
    return None if url is None else (owner, url)


async def _pending(request: web.Request, ns: str) -> list[dict[str, Any]]:
    """The namespace's pending activations, oldest first: this controller's, and in a
    cluster those the others' accepted documents say wait."""
    mine = request.app[DISPATCHER].pending.listing(ns)
    node = request.app.get(NODE)
    if node is None:
        return mine
    known = {item["activationId"] for item in mine}
    docs = await request.app[STORE].list(ACCEPTED, filters={"namespace": ns})
    others = [waiting for doc in docs if doc.get("owner") not in (None, node.me)
              and (waiting := _waiting(doc)) and waiting["activationId"] not in known]
    return sorted([*mine, *others], key=lambda item: item.get("since", 0))


def _waiting(accepted: dict[str, Any]) -> dict[str, Any] | None:
    """What an accepted document says its activation waits for, in the shape of
    ``Waiting.describe`` (None: it does not wait)."""
    info = accepted.get("pending")
    if not info:
        return None
    return {"activationId": accepted["activationId"], "namespace": accepted["namespace"],
            "name": accepted["name"], **info}


@ROUTES.get(BASE + "/{id}/result")
async def get_result(request: web.Request) -> web.Response:
    doc = await _record(request)
    return doc if isinstance(doc, web.Response) else json_response(doc.get("response", {}))


@ROUTES.get(BASE + "/{id}/logs")
async def get_logs(request: web.Request) -> web.Response:
    doc = await _record(request)
    return doc if isinstance(doc, web.Response) else json_response({"logs": doc.get("logs", [])})


def summary(doc: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in public(doc).items() if k not in ("response", "logs")}
    out["statusCode"] = doc.get("response", {}).get("statusCode", 0)
    return out


async def _record(request: web.Request) -> dict[str, Any] | web.Response:
    """The stored record, or the 202 of an activation accepted and still running."""
    activation_id, ns, store = request.match_info["id"], namespace(request), request.app[STORE]
    await request.app[DISPATCHER].written(activation_id)
    doc = await _find(store, ns, activation_id)
    if doc is not None:
        return doc
    accepted = await _find(store, ns, activation_id, ACCEPTED)
    if accepted is not None:  # what it waits for: here, or as its accepted document says
        waiting = request.app[DISPATCHER].pending.describe(activation_id)
        if waiting is None and _elsewhere(request, accepted) is not None:
            waiting = _waiting(accepted)  # the accepting controller keeps it current
        return json_response({"activationId": activation_id,
                              **(waiting_body(waiting) if waiting else {})}, 202)
    # CouchDB stores a record and drops its accepted document in two requests: look again
    doc = await _find(store, ns, activation_id)
    if doc is None:
        raise NotFound()
    return doc


async def _find(store: Store, ns: str, activation_id: str,
                coll: str = COLL) -> dict[str, Any] | None:
    if not ACTIVATION_ID.fullmatch(activation_id):
        return None
    doc = await get_or_none(store, coll, activation_id)
    return doc if doc is not None and doc.get("namespace") == ns else None
