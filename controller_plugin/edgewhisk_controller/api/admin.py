"""Namespaces managed through the API: ``/api/v1/admin/namespaces`` and a key's own rotation.

OpenWhisk manages namespaces with ``wskadmin`` on the database; ``edgewhisk namespace ...``
does it against a running controller, so these endpoints exist. The authorisation model:

- ``GET|PUT|DELETE /api/v1/admin/namespaces[/{name}]`` and ``POST .../{name}/key`` need an
  **admin key** (``Subject.admin``: made only by somebody who can write the store,
  ``edgewhisk controller namespace create NAME --admin``); any other valid key gets a 403.
- ``POST /api/v1/namespaces/{ns}/key`` rotates the caller's **own** key (``ns`` is ``_`` or
  its own namespace, resolved by the auth middleware like every namespace path): holding a
  key is enough to replace it, as with any credential.

A new or rotated key is in the answer once (the store keeps its hash); the old one stops
working at once on this controller. Deleting a namespace is refused (409, naming what is
left) while it holds actions, packages, triggers (an alarm feed goes with its trigger), rules,
API routes, artifacts or device tokens, which its owner deletes through the API; its activation
records go with it, so that a namespace created later under the same name never sees them. An
admin cannot delete the namespace of the key it is using (it would lock itself out).
"""

from __future__ import annotations

from aiohttp import web

from .. import auth
from ..auth import Subject
from ..exceptions import Conflict, Forbidden
from ..keys import AUTHENTICATOR, STORE
from ..schema.activation import COLLECTION as ACTIVATIONS
from ..schema.entity import check_name
from ..schema.package import COLLECTION as PACKAGES
from ..schema.routes import COLLECTION as ROUTES_COLLECTION
from ..stores import Store
from ..tunnel.tokens import COLLECTION as TOKENS
from .request import json_response, namespace, subject

ROUTES = web.RouteTableDef()
BASE = "/api/v1/admin/namespaces"
OWNED = {"actions": "actions", PACKAGES: "packages", "triggers": "triggers", "rules": "rules",
         ROUTES_COLLECTION: "routes", "artifacts": "artifacts"}
"""Collections whose documents are ``{ns}/...`` entities its owner must delete first, and how
a refusal names them."""
PAGE = 500


def _admin(request: web.Request) -> Subject:
    caller = subject(request)
    if not caller.admin:
        raise Forbidden("Managing namespaces needs an admin key (made with `edgewhisk "
                        "controller namespace create NAME --admin` on the controller's store).")
    return caller


def _name(request: web.Request) -> str:
    return check_name(request.match_info["name"], "namespace")


@ROUTES.get(BASE)
async def list_all(request: web.Request) -> web.Response:
    _admin(request)
    return json_response(await auth.list_namespaces(request.app[STORE]))


@ROUTES.put(BASE + "/{name}")
async def create(request: web.Request) -> web.Response:
    _admin(request)
    name = _name(request)
    key = await auth.create_namespace(request.app[STORE], name)
    return json_response({"namespace": name, "key": key})


@ROUTES.delete(BASE + "/{name}")
async def delete(request: web.Request) -> web.Response:
    caller, name, store = _admin(request), _name(request), request.app[STORE]
    if name == caller.namespace:
        raise Conflict(f"Namespace {name!r} is the one of the key you are using; delete it "
                       "with another admin key.")
    left = await _held(store, name)
    if left:
        held = ", ".join(f"{what} ({count})" for what, count in left.items())
        raise Conflict(f"Namespace {name!r} still holds {held}; delete them first.")
    await auth.delete_namespace(store, name)
    request.app[AUTHENTICATOR].forget(name)
    removed = await _delete_activations(store, name)
    return json_response({"namespace": name, "deleted": {"activations": removed}})


@ROUTES.post(BASE + "/{name}/key")
async def rotate(request: web.Request) -> web.Response:
    _admin(request)
    return await _rotated(request, _name(request))


@ROUTES.post("/api/v1/namespaces/{ns}/key")
async def rotate_own(request: web.Request) -> web.Response:
    return await _rotated(request, namespace(request))


async def _rotated(request: web.Request, name: str) -> web.Response:
    key = await auth.rotate_key(request.app[STORE], name)
    request.app[AUTHENTICATOR].forget(name)
    return json_response({"namespace": name, "key": key})


async def _held(store: Store, ns: str) -> dict[str, int]:
    """What ``ns`` still owns, by what a refusal calls it (only the non-empty ones)."""
    counts = {what: await store.count(coll, prefix=f"{ns}/") for coll, what in OWNED.items()}
    counts["invoker tokens"] = await store.count(TOKENS, filters={"namespace": ns})
    return {coll: n for coll, n in counts.items() if n}


async def _delete_activations(store: Store, ns: str) -> int:
    removed = 0
    while docs := await store.list(ACTIVATIONS, filters={"namespace": ns}, limit=PAGE):
        for doc in docs:
            await store.delete(ACTIVATIONS, doc["_id"], doc["_rev"])
        removed += len(docs)
    return removed
