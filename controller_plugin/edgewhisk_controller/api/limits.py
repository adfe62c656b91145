"""``GET /api/v1/namespaces/{ns}/limits``: the limits that apply to the namespace.

Upstream's ``WhiskLimitsApi`` answers the namespace's ``UserLimits``; the action limits here
are the ones every PUT is checked against (``schema/entity.py``'s ``LIMITS``): memory and logs
in MB, the timeout in ms, ``maxParameterSize`` as upstream writes a size (``"1 MB"``); the
rates are the namespace's own (``invocationsPerMinute``, ``concurrentInvocations``,
``firesPerMinute``: ``ControllerConfig.limits_for``, what the 429 throttle applies). Fields of
limits this controller does not enforce are left out, as upstream leaves out those not set.
"""

from __future__ import annotations

from aiohttp import web

from ..keys import CONFIG
from ..schema.entity import LIMITS, PAYLOAD_MAX
from .request import json_response, namespace

ROUTES = web.RouteTableDef()
FIELDS = {"memory": "ActionMemory", "logs": "ActionLogs", "timeout": "ActionTimeout",
          "concurrency": "ActionConcurrency"}


@ROUTES.get("/api/v1/namespaces/{ns}/limits")
async def get_limits(request: web.Request) -> web.Response:
    ns = namespace(request)  # the caller's own (the auth middleware answered 403 otherwise)
    limits: dict[str, object] = dict(request.app[CONFIG].limits_for(ns).to_json())
    for name, field in FIELDS.items():
        limits[f"min{field}"] = LIMITS[name].minimum
        limits[f"max{field}"] = LIMITS[name].maximum
    limits["maxParameterSize"] = f"{PAYLOAD_MAX // (1024 * 1024)} MB"
    return json_response(limits)
