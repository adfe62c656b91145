"""The REST API, one module per resource; ``RESOURCES`` is the explicit list ``app.py`` mounts."""

from aiohttp import web

from . import (
    actions,
    activations,
    alarms,
    artifacts,
    info,
    invokers,
    limits,
    namespaces,
    packages,
    rules,
    triggers,
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
)

__all__ = ["RESOURCES"]
