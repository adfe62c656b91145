"""Artifacts: ``/api/v1/namespaces/{ns}/artifacts`` — the registry over REST.

    GET    .../artifacts[?kind=&name=&type=&trained_on=&owner=&locality=&limit=&skip=]
    GET    .../artifacts/{name}                  latest version's metadata
    GET    .../artifacts/{name}/versions         every version, newest first
    GET    .../artifacts/{name}@{version}        that version's metadata
    GET    .../artifacts/{name}[@{version}]/content   the bytes (``cloud`` artifacts only)
    PUT    .../artifacts/{name}?kind=...         a new version (body = the bytes)
    DELETE .../artifacts/{name}@{version}
    POST   .../artifacts/resolve  {"selector": {...}}  -> the chosen version, or 404 with
                                                         ``candidates``
    POST   .../artifacts/{name}[@{version}]/preload  {"version": n?, "devices": {...}}
           -> {"artifact": key, "devices": [{"invoker", "status", "reason"}]}: the version
              pushed to every invoker the device selector picks (``artifacts/preload.py``)

Names may hold ``/`` (``u1/glucose-model``), so one route takes the rest of the path and
``_target`` splits it. PUT parameters are query parameters: ``kind`` (required), ``format``,
``locality``, ``sha256`` (verified on arrival), ``owner``, ``created_by``, and JSON objects
``metadata``, ``metrics``, ``lineage``; a ``local``/``network:`` artifact is registered by
its metadata only (``held_by``, ``sha256``, ``size``, no body): its bytes never reach the
cloud. Uploads stream into the blob store (never whole in memory) and are capped by
``--artifact-max-size`` (413).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import edgewhisk_json
from aiohttp import web

from ..artifacts import ArtifactRegistry, InvalidArtifact, NewArtifact
from ..artifacts import preload as preloads
from ..artifacts.exceptions import ArtifactTooLarge
from ..artifacts.keys import check_name, check_version
from ..blobs import CHUNK
from ..keys import DISPATCHER, REGISTRY
from ..schema.entity import PAYLOAD_MAX, check_fields, object_body, page, public
from . import body, registration
from .request import json_response, namespace, read_json, subject

ROUTES = web.RouteTableDef()
BASE = "/api/v1/namespaces/{ns}/artifacts"
LIST_FILTERS = ("kind", "name", "type", "trained_on", "owner", "locality")
PUT_FIELDS = ("kind", "format", "locality", "sha256", "size", "held_by", "owner", "created_by",
              "metadata", "metrics", "lineage")


def _registry(request: web.Request) -> ArtifactRegistry:
    return request.app[REGISTRY]


def _target(request: web.Request) -> tuple[str, int | None, str]:
    """``name[@version][/content|/versions|/preload]`` -> (name, version or None, part)."""
    path, part = request.match_info["path"], ""
    for suffix in ("/content", "/versions", "/preload"):
        if path.endswith(suffix):
            path, part = path[: -len(suffix)], suffix[1:]
            break
    name, at, version = path.partition("@")
    return check_name(name), check_version(version) if at else None, part


@ROUTES.get(BASE)
async def list_artifacts(request: web.Request) -> web.Response:
    check_fields(request.query, (*LIST_FILTERS, "limit", "skip"), "query")
    limit, skip = page(request.query)
    filters = {k: request.query[k] for k in LIST_FILTERS if k in request.query}
    docs = await _registry(request).list(namespace(request), filters, limit=limit, skip=skip)
    return json_response([public(doc) for doc in docs])


@ROUTES.post(BASE + "/resolve")
async def resolve(request: web.Request) -> web.Response:
    body = object_body(await read_json(request, limit=PAYLOAD_MAX), "resolve request")
    check_fields(body, ("selector",))
    if "selector" not in body:
        raise InvalidArtifact("selector: missing; e.g. {\"selector\": {\"type\": \"classifier\"}}")
    return json_response(public(await _registry(request).resolve(namespace(request),
                                                                 body["selector"])))


@ROUTES.post(BASE + "/{path:.+}")
async def preload(request: web.Request) -> web.Response:
    name, version, part = _target(request)
    if part != "preload":
        raise InvalidArtifact(f"POST .../artifacts/{name}/preload to preload it (or "
                              ".../artifacts/resolve)")
    body = object_body(await read_json(request, limit=PAYLOAD_MAX), "preload request")
    check_fields(body, ("version", "devices"))
    if "version" in body:
        if version is not None and check_version(body["version"]) != version:
            raise InvalidArtifact(f"version: {body['version']!r} differs from the path's "
                                  f"@{version}")
        version = check_version(body["version"])
    selector = preloads.DeviceSelector.parse(body.get("devices"))
    doc = await _registry(request).get(namespace(request), name, version)
    devices = await preloads.preload(doc, request.app[DISPATCHER].invokers, selector)
    return json_response({"artifact": doc["_id"], "devices": devices})


@ROUTES.get(BASE + "/{path:.+}")
async def get_artifact(request: web.Request) -> web.StreamResponse:
    name, version, part = _target(request)
    registry, ns = _registry(request), namespace(request)
    if part == "versions":
        if version is not None:
            raise InvalidArtifact(f"{name}@{version}/versions: list the versions of {name}")
        limit, skip = page(request.query)
        return json_response([public(d) for d in
                              await registry.versions(ns, name, limit=limit, skip=skip)])
    if part == "content":
        return await _download(request, registry, ns, name, version)
    if part:
        raise InvalidArtifact(f"GET .../artifacts/{name}/{part}: POST to preload")
    return json_response(public(await registry.get(ns, name, version)))


async def _download(request: web.Request, registry: ArtifactRegistry, ns: str, name: str,
                    version: int | None) -> web.StreamResponse:
    doc, stat, chunks = await registry.content(ns, name, version)
    response = web.StreamResponse(headers={
        "Content-Type": "application/octet-stream",
        "Content-Length": str(stat.size),
        "X-Edgewhisk-Sha256": stat.sha256,
        "X-Edgewhisk-Version": str(doc["version"]),
    })
    await response.prepare(request)
    async for chunk in chunks:
        await response.write(chunk)
    await response.write_eof()
    return response


@ROUTES.put(BASE + "/{path:.+}")
async def put_artifact(request: web.Request) -> web.Response:
    name, version, part = _target(request)
    if version is not None or part:
        raise InvalidArtifact(f"PUT a new version to .../artifacts/{name}: versions are "
                              "numbered by the registry")
    registry = _registry(request)
    new = _new_artifact(request, name)
    has_content = new.locality == "cloud" or request.body_exists
    if (request.content_length or 0) > registry.max_size:
        raise ArtifactTooLarge(f"artifact {name}: {request.content_length} bytes exceed the "
                               f"limit of {registry.max_size} bytes; nothing was stored")
    await registration.check(request, namespace(request), new, has_content=has_content,
                             owner_given="owner" in request.query)
    content = _chunks(request) if has_content else None
    doc = await registry.create(namespace(request), new, content)
    return json_response(public(doc))


async def _chunks(request: web.Request) -> AsyncIterator[bytes]:
    async for chunk in body.chunks(request, CHUNK):  # cut with a 408 when it stalls
        yield chunk


def _new_artifact(request: web.Request, name: str) -> NewArtifact:
    query = request.query
    check_fields(query, PUT_FIELDS, "query")
    if "kind" not in query:
        raise InvalidArtifact("kind: missing; 'model' or 'data'")
    size = None
    if "size" in query:
        if not query["size"].isdigit():
            raise InvalidArtifact(f"size: {query['size']!r} must be a number of bytes")
        size = int(query["size"])
    return NewArtifact(
        name=name, kind=query["kind"], owner=query.get("owner") or subject(request).subject,
        locality=query.get("locality", "cloud"), format=query.get("format", "bytes"),
        sha256=query.get("sha256"), size=size, held_by=query.get("held_by"),
        created_by=query.get("created_by"), lineage=_json_object(query, "lineage"),
        metadata=_json_object(query, "metadata"), metrics=_json_object(query, "metrics"))


def _json_object(query: Any, key: str) -> dict[str, Any]:
    if key not in query:
        return {}
    try:
        value = edgewhisk_json.loads(query[key])
    except edgewhisk_json.JSONError as exc:
        raise InvalidArtifact(f"{key}: not JSON: {exc.reason}") from None
    if not isinstance(value, dict):
        raise InvalidArtifact(f"{key}: must be a JSON object, not {type(value).__name__}")
    return value


@ROUTES.delete(BASE + "/{path:.+}")
async def delete_artifact(request: web.Request) -> web.Response:
    name, version, part = _target(request)
    if version is None or part:
        raise InvalidArtifact(f"DELETE .../artifacts/{name}@VERSION: name the version")
    return json_response(public(await _registry(request).delete(namespace(request), name,
                                                                version)))
