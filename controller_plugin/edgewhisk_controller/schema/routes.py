"""API routes: a base path's operations, each mapped to a web action (the routes API).

The shapes are those of OpenWhisk's route management actions
(apache/openwhisk ``core/routemgmt``, ``apigw-utils.js``) that ``wsk api`` and the
JavaScript client's ``routes`` call: ``createApi`` takes an ``apidoc`` (``gatewayBasePath``,
``gatewayPath``, ``gatewayMethod``, ``action: {name, namespace, backendUrl, ...}``, optional
``apiName``), and every API is kept as a Swagger 2.0 document whose operations carry
``x-openwhisk: {namespace, package, action, url}``; ``getApi`` answers them as
``{"apis": [{"id", "key", "value": {"namespace", "gwApiActivated", "tenantId", "gwApiUrl",
"apidoc"}}]}``. Route documents live in the ``apis`` collection, one per namespace and base
path.

The subset kept: one operation at a time (``apidoc.swagger``, a whole Swagger document, is
refused), any verb, path parameters ``{name}`` matching one path segment, and the response
type (``json``, ``http``, ``html``, ``svg``, ``text``) chosen per operation. Messages are
route management's, word for word.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..exceptions import BadGateway
from . import entity

COLLECTION = "apis"
VERBS = ("get", "put", "post", "delete", "patch", "head", "options")
RESPONSE_TYPES = ("json", "http", "html", "svg", "text")
GATEWAY = "/api/gw"
"""Where the controller serves the routes: ``{api host}/api/gw/{namespace}{basePath}{path}``."""
OPENWHISK = "x-openwhisk"
SECURE_KEYS = "secureKeys"


def refused(reason: str) -> BadGateway:
    """Route management answers its refusals 502 ``{"error"}`` (``makeErrorResponseObject``)."""
    return BadGateway(reason)


def endpoint(apidoc: Any, responsetype: str, ns: str) -> dict[str, Any]:
    """The one operation an ``apidoc`` asks for, checked as ``createApi``'s ``validateArgs``;
    the action's namespace ``_`` is the caller's ``ns`` (``updateNamespace``)."""
    if not isinstance(apidoc, dict):
        raise refused("apidoc is required.")
    if "swagger" in apidoc:
        raise refused("swagger: a whole Swagger document is not supported here; create "
                      "each operation with gatewayBasePath, gatewayPath and gatewayMethod")
    for field in ("namespace", "gatewayBasePath", "gatewayPath", "gatewayMethod"):
        if not apidoc.get(field):
            raise refused(f"apidoc is missing the {field} field")
    action = apidoc.get("action")
    if not isinstance(action, dict):
        raise refused("apidoc is missing the action field.")
    for field in ("backendMethod", "backendUrl", "namespace", "name", "authkey"):
        if not action.get(field):
            raise refused(f"action is missing the {field} field.")
    verb = str(apidoc["gatewayMethod"]).lower()
    if verb not in VERBS:
        raise refused(f"gatewayMethod: {apidoc['gatewayMethod']!r} must be one of "
                      f"{', '.join(v.upper() for v in VERBS)}")
    if responsetype not in RESPONSE_TYPES:
        raise refused(f"responsetype: {responsetype!r} must be one of "
                      f"{', '.join(RESPONSE_TYPES)}")
    return {"basePath": _path(apidoc["gatewayBasePath"], "gatewayBasePath"),
            "path": _path(apidoc["gatewayPath"], "gatewayPath"), "verb": verb,
            "name": apidoc.get("apiName"), "action": _action(action, ns), "type": responsetype,
            "secureKey": action.get("secureKey")}


def _path(value: Any, field: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"/[\w{}./@~-]*", value) or "//" in value:
        raise refused(f"{field}: {value!r} must be a path such as /hello")
    return value.rstrip("/") or "/"


def _action(action: Mapping[str, Any], ns: str) -> dict[str, str]:
    """``{"namespace", "package", "action"}`` from the apidoc's action (``pkg/name``)."""
    package, _, name = str(action["name"]).strip("/").rpartition("/")
    namespace = ns if action["namespace"] == entity.DEFAULT_NAMESPACE else action["namespace"]
    for part in (namespace, name, *([package] if package else [])):
        entity.check_name(part, "action")
    return {"namespace": str(namespace), "package": package, "action": name}


def operation_id(verb: str, path: str) -> str:
    """``makeOperationId``: the verb, then each path word capitalised (``getBooksIsbn``)."""
    words = re.sub(r"[^0-9a-z_-]", " ", path, flags=re.IGNORECASE).split()
    return verb.lower() + "".join(w[:1].upper() + w[1:].lower() for w in words)


def new_api(ns: str, base: str, name: str | None) -> dict[str, Any]:
    """``generateBaseSwaggerApi``: an API with no operation yet."""
    return {"_id": f"{ns}{base}", "namespace": ns, SECURE_KEYS: {},
            "swagger": {"swagger": "2.0", "info": {"title": name or base, "version": "1.0.0"},
                        "basePath": base, "paths": {}}}


def add(api: dict[str, Any], op: Mapping[str, Any], api_host: str) -> dict[str, Any]:
    """``addEndpointToSwaggerApi``: the operation added to (or replacing one of) ``api``."""
    target = op["action"]
    url = (f"{api_host}/api/v1/web/{target['namespace']}/{target['package'] or 'default'}/"
           f"{target['action']}.{op['type']}")
    swagger = api["swagger"]
    if op["name"]:
        swagger["info"]["title"] = op["name"]
    swagger["paths"].setdefault(op["path"], {})[op["verb"]] = {
        "operationId": operation_id(op["verb"], op["path"]),
        OPENWHISK: {**target, "url": url},
        "responses": {"default": {"description": "Default response"}},
    }
    key = f"{op['verb']} {op['path']}"
    api[SECURE_KEYS].pop(key, None)
    if op["secureKey"]:
        api[SECURE_KEYS][key] = str(op["secureKey"])
    return api


def remove(api: dict[str, Any], path: str | None, verb: str | None) -> bool:
    """``removeEndpointFromSwaggerApi``; True when the API has no operation left."""
    paths = api["swagger"]["paths"]
    if path is None:
        return True
    if path not in paths:
        raise refused(f"path '{path}' does not exist in the API")
    if verb is None:
        del paths[path]
    elif verb.lower() not in paths[path]:
        raise refused(f"path '{path}' with operation '{verb}' does not exist in the API")
    else:
        del paths[path][verb.lower()]
        if not paths[path]:
            del paths[path]
    return not paths


def cli_api(api: Mapping[str, Any], api_host: str) -> dict[str, Any]:
    """An API as ``getApi`` answers it (``generateCliApiFromGwApi``)."""
    base = api["swagger"]["basePath"]
    return {"id": f"API:{api['namespace']}:{base}", "key": f"{api['namespace']}:{base}",
            "value": {"namespace": api["namespace"], "gwApiActivated": True,
                      "tenantId": api["namespace"],
                      "gwApiUrl": f"{api_host}{GATEWAY}/{api['namespace']}{base.rstrip('/')}",
                      "apidoc": api["swagger"]}}


def match(api: Mapping[str, Any], rest: str, verb: str) -> tuple[dict[str, Any], str] | None:
    """The operation of ``api`` serving ``verb`` on ``rest`` (the path after the base path),
    with the secure key it requires; ``{name}`` matches one segment. None when none does."""
    for path, operations in api["swagger"]["paths"].items():
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path.rstrip("/") or ""))
        if re.fullmatch(pattern, rest.rstrip("/")) and verb.lower() in operations:
            key = api[SECURE_KEYS].get(f"{verb.lower()} {path}", "")
            return operations[verb.lower()], key
    return None
