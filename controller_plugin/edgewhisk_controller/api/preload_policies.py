"""Standing preload policies: ``/api/v1/namespaces/{ns}/artifacts/{name}/preload-policies``.

    POST   .../artifacts/{name}/preload-policies       {"devices": {...}}
           -> the policy ({"id", "artifact", "devices", "created"}) and ``applied``: what it
              pushed to the invokers online now
    GET    .../artifacts/{name}/preload-policies       the artifact's policies, each with its
                                                       recent ``decisions`` (and reasons)
    DELETE .../artifacts/{name}/preload-policies/{id}

What a policy does is ``artifacts/standing.py``. Mounted before ``artifacts.py``, whose routes
take the rest of the path (names hold ``/``).
"""

from __future__ import annotations

from aiohttp import web

from ..artifacts import InvalidArtifact
from ..artifacts.keys import check_name
from ..artifacts.standing import StandingPreloads
from ..keys import DISPATCHER
from ..schema.entity import PAYLOAD_MAX, check_fields, object_body
from .request import json_response, namespace, read_json

ROUTES = web.RouteTableDef()
BASE = "/api/v1/namespaces/{ns}/artifacts/{name:.+}/preload-policies"


def _standing(request: web.Request) -> StandingPreloads:
    standing = request.app[DISPATCHER].standing
    if standing is None:
        raise InvalidArtifact("this controller has no artifact registry")
    return standing


@ROUTES.post(BASE)
async def create_policy(request: web.Request) -> web.Response:
    name = check_name(request.match_info["name"])
    body = object_body(await read_json(request, limit=PAYLOAD_MAX), "preload policy")
    check_fields(body, ("devices",))
    dispatcher = request.app[DISPATCHER]
    policy, applied = await _standing(request).add(namespace(request), name,
                                                   body.get("devices"), dispatcher.invokers)
    return json_response({**policy.public(), "id": policy.id.rsplit("#", 1)[1],
                          "applied": applied})


@ROUTES.get(BASE)
async def list_policies(request: web.Request) -> web.Response:
    name = check_name(request.match_info["name"])
    return json_response(await _standing(request).listing(namespace(request), name))


@ROUTES.delete(BASE + "/{id}")
async def delete_policy(request: web.Request) -> web.Response:
    name = check_name(request.match_info["name"])
    policy = await _standing(request).remove(namespace(request), name, request.match_info["id"])
    return json_response({**policy.public(), "id": request.match_info["id"], "deleted": True})
