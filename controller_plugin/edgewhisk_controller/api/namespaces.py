"""Namespaces: the caller's namespaces, and everything one namespace holds.

``GET /api/v1/namespaces`` lists the caller's namespaces (one per key here).
``GET /api/v1/namespaces/{ns}`` answers ``{"actions", "packages", "rules", "triggers"}``, the
summaries of every entity of the namespace, as OpenWhisk's ``getAllInNamespace`` did until
apache/openwhisk#3167 (``wsk namespace get`` of that era reads it); the JavaScript client's
``namespaces.get`` asks the four collections instead, which answer the same entities.
"""

from __future__ import annotations

from aiohttp import web

from ..keys import STORE
from ..schema import action, package
from ..schema.entity import public
from .request import json_response, namespace, subject

ROUTES = web.RouteTableDef()
SUMMARIES = {"actions": action.summary, "packages": package.summary, "rules": public,
             "triggers": public}


@ROUTES.get("/api/v1/namespaces")
async def list_namespaces(request: web.Request) -> web.Response:
    return json_response([subject(request).namespace])


@ROUTES.get("/api/v1/namespaces/{ns}")
@ROUTES.get("/api/v1/namespaces/{ns}/")
async def namespace_entities(request: web.Request) -> web.Response:
    ns, store = namespace(request), request.app[STORE]
    return json_response({
        coll: [summary(doc) for doc in await store.list(coll, filters={"namespace": ns})]
        for coll, summary in SUMMARIES.items()
    })
