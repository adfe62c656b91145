"""``GET /api/v1/namespaces/{ns}/cluster``: where the namespace stands among several
controllers working as one (``--cluster-redis``): this controller, the live ones, and the
namespace's owner on the consistent-hash ring, to which a load balancer may send the
namespace's invokes so that its placements need no cross-controller claim. 404 when the
controller works alone.
"""

from __future__ import annotations

from aiohttp import web

from ..cluster import NODE
from ..exceptions import NotFound
from .request import json_response, namespace

ROUTES = web.RouteTableDef()


@ROUTES.get("/api/v1/namespaces/{ns}/cluster")
async def get_cluster(request: web.Request) -> web.Response:
    node = request.app.get(NODE)
    if node is None:
        raise NotFound("This controller works alone (no --cluster-redis).")
    return json_response(node.status(namespace(request)))
