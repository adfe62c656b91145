"""The REST API, one module per resource; ``RESOURCES`` is the explicit list ``app.py`` mounts."""

from aiohttp import web

from . import (
    actions,
    activations,
    admin,
    artifacts,
    info,
    invokers,
    namespaces,
    rules,
    triggers,
)

RESOURCES: tuple[web.RouteTableDef, ...] = (
    info.ROUTES,
    namespaces.ROUTES,
    actions.ROUTES,
    activations.ROUTES,
    triggers.ROUTES,
    rules.ROUTES,
    invokers.ROUTES,
    artifacts.ROUTES,
    admin.ROUTES,
)

__all__ = ["RESOURCES"]
