"""The console's pages: login, the fleet, activations (live), one activation and why it ran
where it did. Each handler reads what the API reads and renders one template."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from ..auth import Subject
from ..keys import CONFIG, DISPATCHER, STORE
from ..schema.activation import PLACEMENT
from ..schema.entity import check_name
from ..tunnel.hub import TUNNEL
from . import graphs, session
from .events import CLOSED, EVENTS, summary

ROUTES = web.RouteTableDef()
LISTED = 50
"""Activations a page lists (the newest)."""
KEEPALIVE_S = 15.0

Page = Callable[[web.Request, Subject], Awaitable[web.StreamResponse]]


def page(handler: Page) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A page for a logged-in user; anybody else goes to the login form."""
    async def wrapped(request: web.Request) -> web.StreamResponse:
        subject = await session.subject_of(request)
        if subject is None:
            raise web.HTTPSeeOther("/console/login")
        return await handler(request, subject)
    return wrapped


@ROUTES.get("/console/login")
@aiohttp_jinja2.template("login.html")
async def login_form(request: web.Request) -> dict[str, Any]:
    return {"error": None}


@ROUTES.post("/console/login")
async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    token = session.encoded(str(form.get("key", "")).strip())
    if token is not None and await session.check(request, token) is not None:
        response = web.HTTPSeeOther("/console/")
        session.remember(response, token, secure=request.app[CONFIG].tls_cert is not None)
        raise response
    return aiohttp_jinja2.render_template(
        "login.html", request, {"error": "That key opens no namespace."}, status=401)


@ROUTES.post("/console/logout")
async def logout(request: web.Request) -> web.StreamResponse:
    response = web.HTTPSeeOther("/console/login")
    session.forget(response)
    raise response


@ROUTES.get("/console/")
@page
async def fleet(request: web.Request, subject: Subject) -> web.StreamResponse:
    invokers = request.app[TUNNEL].listing(subject.namespace)
    return aiohttp_jinja2.render_template("fleet.html", request, {
        "subject": subject, "invokers": invokers, "page": "fleet"})


@ROUTES.get("/console/activations")
@page
async def activations(request: web.Request, subject: Subject) -> web.StreamResponse:
    name = request.query.get("name", "").strip()
    filters: dict[str, str] = {"namespace": subject.namespace}
    if name:
        filters["name"] = check_name(name, "name")
    await request.app[DISPATCHER].written()
    docs = await request.app[STORE].list("activations", filters=filters, sort="start",
                                         descending=True, limit=LISTED)
    rows = [summary(doc) for doc in docs]
    return aiohttp_jinja2.render_template("activations.html", request, {
        "subject": subject, "rows": rows, "name": name, "timeline": graphs.timeline(rows),
        "page": "activations"})


@ROUTES.get("/console/activations/{id}")
@page
async def activation(request: web.Request, subject: Subject) -> web.StreamResponse:
    doc = await request.app[STORE].list(
        "activations", filters={"namespace": subject.namespace,
                                "activationId": request.match_info["id"]}, limit=1)
    if not doc:
        raise web.HTTPNotFound(text="No such activation in this namespace.")
    record = doc[0]
    annotations = {a.get("key"): a.get("value") for a in record.get("annotations") or ()}
    return aiohttp_jinja2.render_template("activation.html", request, {
        "subject": subject, "row": summary(record), "why": annotations.get(PLACEMENT),
        "page": "activations"})


@ROUTES.get("/console/events")
@page
async def events(request: web.Request, subject: Subject) -> web.StreamResponse:
    """The namespace's stored records as server-sent events (``activation``), until the
    page goes away (a write fails: not an error) or the controller shuts down."""
    feed = request.app[EVENTS]
    queue = feed.subscribe(subject.namespace)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                           "Cache-Control": "no-cache"})
    try:
        await response.prepare(request)
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            if item is CLOSED:
                break
            await response.write(f"event: activation\ndata: {json.dumps(item)}\n\n".encode())
    except ConnectionResetError:  # aiohttp's ClientConnectionResetError: the page is gone
        pass
    finally:
        feed.unsubscribe(queue)
    return response
