"""The console's pages about the namespace's work: artifacts (versions, copies, lineage as a
graph, gate verdicts and held-back versions), triggers and their rules, and pending work (the
activations started and not finished). Each reads what the REST API reads."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from ..artifacts.exceptions import ArtifactNotFound, InvalidArtifact
from ..artifacts.keys import check_name, parse_key
from ..artifacts.registry import ARTIFACTS
from ..auth import Subject
from ..keys import DISPATCHER, REGISTRY, STORE
from ..stores import NotFound as StoreNotFound
from . import graphs
from .pages import LISTED, page

ROUTES = web.RouteTableDef()
ANCESTRY = 3
"""Steps of making the lineage graph follows back from the page's versions."""
GRAPH_MAX = 40
"""Versions the graph fetches at most (a wide ancestry is cut there, and says so)."""


@ROUTES.get("/console/artifacts")
@page
async def artifacts(request: web.Request, subject: Subject) -> web.StreamResponse:
    """Every artifact name with its newest version (the registry lists newest first)."""
    docs = await request.app[REGISTRY].list(subject.namespace, {}, limit=LISTED * 4, skip=0)
    newest: dict[str, dict[str, Any]] = {}
    for doc in docs:
        newest.setdefault(doc["name"], doc)
    return aiohttp_jinja2.render_template("artifacts.html", request, {
        "subject": subject, "rows": sorted(newest.values(), key=lambda d: d["name"]),
        "page": "artifacts"})


@ROUTES.get("/console/artifacts/{name:.+}")
@page
async def artifact(request: web.Request, subject: Subject) -> web.StreamResponse:
    ns, registry = subject.namespace, request.app[REGISTRY]
    name = check_name(request.match_info["name"])  # a bad name: 400, as the API says it
    versions = await registry.versions(ns, name, limit=LISTED)
    if not versions:
        raise ArtifactNotFound(f"no artifact {name} in namespace {ns!r}")
    edges, cut = await _ancestry(request, versions)
    drawing = graphs.lineage(edges, (_short(d["_id"]) for d in versions))
    return aiohttp_jinja2.render_template("artifact.html", request, {
        "subject": subject, "name": name, "versions": versions, "graph": drawing,
        "cut": cut, "page": "artifacts", "made_from": {
            d["_id"]: [_short(k) for k in graphs.inputs(d.get("lineage"))] for d in versions}})


async def _ancestry(request: web.Request, versions: list[dict[str, Any]],
                    ) -> tuple[list[tuple[str, str]], bool]:
    """(input, made) edges from the versions back ``ANCESTRY`` steps; True if cut short."""
    store, edges, fetched = request.app[STORE], [], 0
    step, seen = versions, {d["_id"] for d in versions}
    for _ in range(ANCESTRY):
        following = []
        for doc in step:
            for key in graphs.inputs(doc.get("lineage")):
                edges.append((_short(key), _short(doc["_id"])))
                if key in seen:
                    continue
                seen.add(key)
                if fetched == GRAPH_MAX:
                    return edges, True
                fetched += 1
                try:
                    following.append(await store.get(ARTIFACTS, key))
                except StoreNotFound:  # deleted since: the edge stays, its past is gone
                    pass
        step = following
    return edges, False


def _short(key: str) -> str:
    """``ns/name@version`` as the namespace's own pages say it: ``name@version``."""
    try:
        _, name, version = parse_key(key)
    except InvalidArtifact:
        return key
    return f"{name}@{version}"


@ROUTES.get("/console/triggers")
@page
async def triggers(request: web.Request, subject: Subject) -> web.StreamResponse:
    store, selection = request.app[STORE], {"namespace": subject.namespace}
    return aiohttp_jinja2.render_template("triggers.html", request, {
        "subject": subject, "triggers": await store.list("triggers", filters=selection,
                                                         limit=LISTED),
        "rules": await store.list("rules", filters=selection, limit=LISTED),
        "page": "triggers"})


@ROUTES.get("/console/pending")
@page
async def pending(request: web.Request, subject: Subject) -> web.StreamResponse:
    live = request.app[DISPATCHER].journal.live(subject.namespace)
    return aiohttp_jinja2.render_template("pending.html", request, {
        "subject": subject, "rows": sorted(live, key=lambda r: r.get("start") or 0),
        "page": "pending"})
