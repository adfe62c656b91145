"""The typed ``AppKey``s of the application's long-lived objects, and the ``RequestKey``s
the middleware sets for handlers.

One module so that handlers, middleware and ``app.py`` name them without importing each other.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from .artifacts import ArtifactRegistry
from .auth import Authenticator, Subject
from .config import ControllerConfig
from .dispatch import Dispatcher
from .dispatch.alarms import AlarmService
from .dispatch.throttle import Throttle
from .stores import Store

CONFIG = web.AppKey("config", ControllerConfig)
STORE = web.AppKey("store", Store)
AUTHENTICATOR = web.AppKey("authenticator", Authenticator)
DISPATCHER = web.AppKey("dispatcher", Dispatcher)
REGISTRY = web.AppKey("artifacts", ArtifactRegistry)
ALARMS = web.AppKey("alarms", AlarmService)
THROTTLE = web.AppKey("throttle", Throttle)

TID = web.RequestKey("tid", str)
"""The request's transaction id (``X-Request-ID``, ``code`` of error bodies)."""
SUBJECT = web.RequestKey("subject", Subject)
"""Who is calling (set by the auth middleware on every ``/api/v1/`` request)."""
NAMESPACE = web.RequestKey("namespace", str)
"""The path's ``{ns}``, resolved (``_``) and authorised by the auth middleware."""

SHARED_READS = "edgewhisk_shared_reads"
"""The attribute a handler carries when it may be asked for another namespace's entities (a
published package and its actions): the auth middleware then leaves the 403 to the handler,
which lets only shared entities through (``dispatch/resolve.py``)."""


def shares_reads(handler: Handler) -> Handler:
    """Mark ``handler`` as one that answers for other namespaces' published packages."""
    setattr(handler, SHARED_READS, True)
    return handler
