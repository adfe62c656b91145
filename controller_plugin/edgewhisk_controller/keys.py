"""The typed ``AppKey``s under which the application holds its long-lived objects.

One module so that handlers, middleware and ``app.py`` name them without importing each other.
"""

from __future__ import annotations

from aiohttp import web

from .auth import Authenticator
from .config import ControllerConfig
from .invoke import Dispatcher
from .stores import Store

CONFIG = web.AppKey("config", ControllerConfig)
STORE = web.AppKey("store", Store)
AUTHENTICATOR = web.AppKey("authenticator", Authenticator)
DISPATCHER = web.AppKey("dispatcher", Dispatcher)
