"""The typed ``AppKey``s under which the application holds its long-lived objects.

One module so that handlers, middleware and ``app.py`` name them without importing each other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from .auth import Authenticator
from .config import ControllerConfig
from .stores import Store

if TYPE_CHECKING:  # the dispatcher is built in app.py; handlers only call it
    from .invoke import Dispatcher

CONFIG = web.AppKey("config", ControllerConfig)
STORE = web.AppKey("store", Store)
AUTHENTICATOR = web.AppKey("authenticator", Authenticator)
DISPATCHER: web.AppKey[Dispatcher] = web.AppKey("dispatcher")
