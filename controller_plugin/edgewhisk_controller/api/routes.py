"""The routes API (``wsk api create|list|delete``) and the gateway that serves the routes.

OpenWhisk's clients manage routes through the route management web actions
``/whisk.system/apimgmt/{createApi,getApi,deleteApi}`` (the JavaScript client's ``routes``:
``POST``, ``GET``, ``DELETE`` on ``/api/v1/web/whisk.system/apimgmt/...`` with the caller's
key), which configure a separate API gateway. Here the controller answers those paths itself
and is the gateway: ``{api host}/api/gw/{ns}{basePath}{path}`` runs the web action an
operation maps to, with the response type it was created with, the whole request path as
``__ow_path`` and, for an operation created with a ``secureKey``, that key as
``X-Require-Whisk-Auth``. Shapes and messages are ``schema/routes.py``'s.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..exceptions import NotFound, Unauthorized
from ..keys import DISPATCHER, STORE, SUBJECT
from ..schema import routes as schema
from ..schema.entity import object_body, page
from ..stores import Doc, Store
from ..stores.interface import get_or_none
from . import webactions
from .request import json_response, read_json

ROUTES = web.RouteTableDef()
APIMGMT = "/api/v1/web/whisk.system/apimgmt/{op:(createApi|getApi|deleteApi)}{ext:(\\.\\w+)?}"
COLL = schema.COLLECTION


def _caller(request: web.Request) -> str:
    """The caller's namespace: route management needs a key (``require-whisk-auth``)."""
    caller = request.get(SUBJECT)
    if caller is None:
        raise Unauthorized()
    return caller.namespace


def _api_host(request: web.Request) -> str:
    return request.app[DISPATCHER].api_host


@ROUTES.post(APIMGMT)
async def create_api(request: web.Request) -> web.Response:
    ns, store = _caller(request), request.app[STORE]
    if request.match_info["op"] != "createApi":
        raise web.HTTPMethodNotAllowed(request.method, ["GET", "DELETE"])
    body = object_body(await read_json(request))
    op = schema.endpoint(body.get("apidoc"), request.query.get("responsetype", "json"), ns)
    previous = await get_or_none(store, COLL, f"{ns}{op['basePath']}")
    api = schema.add(previous or schema.new_api(ns, op["basePath"], op["name"]), op,
                     _api_host(request))
    await store.put(COLL, api)
    return json_response(schema.cli_api(api, _api_host(request)))


@ROUTES.get(APIMGMT)
async def get_api(request: web.Request) -> web.Response:
    ns, store, query = _caller(request), request.app[STORE], request.query
    apis = [api for api in await store.list(COLL, filters={"namespace": ns})
            if _named(api, query.get("basepath"))]
    limit, skip = page(query)
    return json_response({"apis": [schema.cli_api(api, _api_host(request))
                                   for api in apis[skip:skip + limit]]})


@ROUTES.delete(APIMGMT)
async def delete_api(request: web.Request) -> web.Response:
    ns, store, query = _caller(request), request.app[STORE], request.query
    basepath, relpath, verb = query.get("basepath"), query.get("relpath"), query.get("operation")
    if not basepath:
        raise schema.refused("basepath is required.")
    if verb and not relpath:
        raise schema.refused("When specifying an operation, the path is required.")
    found = [api for api in await store.list(COLL, filters={"namespace": ns})
             if _named(api, basepath)]
    if not found:
        raise schema.refused(f"API '{basepath}' does not exist")
    api = found[0]
    if schema.remove(api, relpath, verb):
        await store.delete(COLL, api["_id"], api["_rev"])
    else:
        await store.put(COLL, api)
    return json_response({})


def _named(api: Doc, basepath: str | None) -> bool:
    """An API is named by its base path or its name (``getApi``'s ``basepath``)."""
    return basepath is None or basepath in (api["swagger"]["basePath"],
                                            api["swagger"]["info"]["title"])


@ROUTES.route("*", schema.GATEWAY + "/{ns}/{tail:.*}")
async def gateway(request: web.Request) -> web.StreamResponse:
    ns, path = request.match_info["ns"], "/" + request.match_info["tail"]
    found = await _operation(request.app[STORE], ns, path, request.method)
    if found is None:
        raise NotFound()
    operation, secure_key = found
    target = operation[schema.OPENWHISK]
    headers: Any = request.headers.copy()
    headers.popall(webactions.AUTH_HEADER, None)
    if secure_key:
        headers[webactions.AUTH_HEADER] = secure_key
    extension = "." + target["url"].rsplit(".", 1)[1]
    return await webactions.serve(request.clone(headers=headers), target["namespace"],
                                  target["package"] or "default", target["action"], extension,
                                  path)


async def _operation(store: Store, ns: str, path: str,
                     verb: str) -> tuple[dict[str, Any], str] | None:
    """The operation of ``ns``'s APIs that serves ``verb`` on ``path`` (the longest base path
    that is a prefix of it first)."""
    apis = sorted(await store.list(COLL, filters={"namespace": ns}),
                  key=lambda api: -len(api["swagger"]["basePath"]))
    for api in apis:
        base = api["swagger"]["basePath"].rstrip("/")
        if path == base or path.startswith(base + "/"):
            found = schema.match(api, path[len(base):], verb)
            if found is not None:
                return found
    return None
