"""``GET /metrics``, ``/health`` and ``/ready``: what an operator's scraper and probes call.

Open like ``/ping`` (no key), as Prometheus and Kubernetes probes expect; they show counts
and states, never a secret or an activation's content. ``/health`` is liveness (the event
loop answers); ``/ready`` checks that the document store and the blob store answer within
``READY_TIMEOUT_S`` (503 naming what did not), so a load balancer sends no work to a
controller whose CouchDB or S3 is unreachable.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from ..blobs import BlobError
from ..exceptions import NotFound as EntityNotFound
from ..keys import REGISTRY, STORE
from ..stores import NotFound, StoreError
from .metrics import METRICS

ROUTES = web.RouteTableDef()
READY_TIMEOUT_S = 5.0
PROBE_ID = "edgewhisk-ready-probe"
"""A key that is never written: reading it proves the store answers (NotFound is fine)."""


@ROUTES.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    observed = request.app.get(METRICS)
    if observed is None:
        raise EntityNotFound("Metrics are off (--no-metrics).")
    body = observed.exposition()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


@ROUTES.get("/health")
async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


@ROUTES.get("/ready")
async def ready(request: web.Request) -> web.Response:
    checks = await asyncio.gather(_store(request), _blobs(request))
    report: dict[str, Any] = dict(checks)
    ok = all(value == "ok" for value in report.values())
    return web.json_response({"status": "ready" if ok else "unavailable", "checks": report},
                             status=200 if ok else 503)


async def _store(request: web.Request) -> tuple[str, str]:
    try:
        await asyncio.wait_for(request.app[STORE].get("namespaces", PROBE_ID), READY_TIMEOUT_S)
    except NotFound:
        pass
    except (StoreError, OSError, TimeoutError) as exc:
        return "store", f"unreachable: {type(exc).__name__}: {exc}"
    return "store", "ok"


async def _blobs(request: web.Request) -> tuple[str, str]:
    try:
        await asyncio.wait_for(request.app[REGISTRY].blobs.exists(PROBE_ID), READY_TIMEOUT_S)
    except (BlobError, OSError, TimeoutError) as exc:
        return "blobs", f"unreachable: {type(exc).__name__}: {exc}"
    return "blobs", "ok"
