"""The REST API, one module per resource; ``RESOURCES`` is the explicit list ``app.py`` mounts."""

from aiohttp import web

from . import (
    actions,
    activations,
    admin,
    alarms,
    artifacts,
    info,
    invokers,
    limits,
    namespaces,
    packages,
    routes,
    rules,
    triggers,
    webactions,
)

RESOURCES: tuple[web.RouteTableDef, ...] = (
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
    artifacts.ROUTES,
    admin.ROUTES,
    routes.ROUTES,  # before web: /api/v1/web/whisk.system/apimgmt/ is route management
    webactions.ROUTES,
)

__all__ = ["RESOURCES"]
