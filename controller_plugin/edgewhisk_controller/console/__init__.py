"""The web console: server-rendered pages (jinja2 through aiohttp-jinja2) under ``/console``.

Why server-rendered: every page is what the REST API already knows (the fleet, the
activations and why each ran where it did), read in the controller and rendered once; the
only JavaScript is the live list of activations (server-sent events, ``events.py``).
Authenticated with the namespace key through a login form (``session.py``); each page shows
only that namespace's activations, invokers, artifacts, triggers and rules. Pages: the fleet,
activations (live, filtered by name, a timeline per invoker), one activation with its
placement explanation (``pages.py``); artifacts with their versions, copies, lineage graph and
gate verdicts, triggers and rules, pending work (``work.py``); the drawings are laid out in
``graphs.py``.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from . import work
from .events import EVENTS, Events
from .pages import ROUTES

TEMPLATES = Path(__file__).resolve().parent / "templates"


def install(app: web.Application) -> None:
    """Mount the console on ``app`` (its templates, its routes, its event feed)."""
    aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(TEMPLATES),
                         autoescape=jinja2.select_autoescape(["html"]))
    app[EVENTS] = Events()
    app.on_shutdown.append(app[EVENTS].close)
    app.add_routes(ROUTES)
    app.add_routes(work.ROUTES)


__all__ = ["EVENTS", "Events", "install"]
