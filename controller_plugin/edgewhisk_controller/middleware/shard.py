"""Invokes handed to their namespace's owner (``--cluster-shard``, ``cluster/shard.py``).

Innermost, after authentication: the namespace is the one the caller's key resolved (``_``
is its own), and a request refused here (401, 403) is refused as the owner would. Only action
invokes (``POST .../actions/...``) are handed on; everything else is served where it arrives.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from ..cluster import NODE
from ..cluster.shard import FORWARDED
from ..keys import NAMESPACE

INVOKES = "/actions/"


@web.middleware
async def shard_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    node = request.app.get(NODE)
    if node is None or request.method != "POST" or INVOKES not in request.path \
            or NAMESPACE not in request:
        return await handler(request)
    if FORWARDED in request.headers:  # handed here by another controller: ours to place
        node.sharding.received += 1
        return await handler(request)
    owner = node.owner_api(request[NAMESPACE])
    if owner is None:
        return await handler(request)
    answer = await node.sharding.forward(*owner, request.path_qs, request.headers,
                                         request.content.iter_any())
    if answer is None:  # the owner could not be reached: placed here
        return await handler(request)
    return web.Response(status=answer.status, headers=answer.headers, body=answer.body)
