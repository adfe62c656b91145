"""The REST API, one module per resource; ``RESOURCES`` is the explicit list ``app.py`` mounts."""

from aiohttp import web

from . import (
    actions,
    activations,
    admin,
    alarms,
    artifacts,
    cluster,
    info,
    invokers,
    limits,
    namespaces,
    packages,
    preload_policies,
    routes,
    rules,
    triggers,
    webactions,
)

RESOURCES: tuple[web.RouteTableDef, ...] = (
    actions.INVOKE,  # first: the hot path resolves at the first resource it tries
    info.ROUTES,
    namespaces.ROUTES,
    actions.ROUTES,
    packages.ROUTES,
    limits.ROUTES,
    activations.ROUTES,
    triggers.ROUTES,
    alarms.ROUTES,
    rules.ROUTES,
    invokers.ROUTES,
    cluster.ROUTES,
    preload_policies.ROUTES,  # before artifacts: its routes take the rest of the path
    artifacts.ROUTES,
    admin.ROUTES,
    routes.ROUTES,  # before web: /api/v1/web/whisk.system/apimgmt/ is route management
    webactions.ROUTES,
)

__all__ = ["RESOURCES"]
