"""Action documents: the PUT body checked, merged with the previous version, made storable.

The stored document is OpenWhisk's entity (namespace, name, version, exec, parameters,
annotations, limits, publish, updated) under ``_id`` ``ns/name``: the dispatcher reads it as
is. An update keeps what the body leaves out (exec, parameters, annotations, each limit), as
upstream does, and bumps the patch version. The ``edgewhisk`` annotation is validated with
the SDK's own validator (one validator for decorators, CLI and controller) and stored in its
normalised form; its hard capabilities become OpenWhisk's ``invoker-resources`` so the action
also lands on tagged invokers of a stock OpenWhisk 2.x.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

import edgewhisk

from ..exceptions import BadRequest
from . import entity

KINDS = ("python:3", "nodejs:default", "blackbox")
KIND_ALIASES = {"python:default": "python:3", "python:3.11": "python:3"}
"""Accepted spellings; ``nodejs:<major>`` also maps to ``nodejs:default`` (Composer sends it)."""

PUT_FIELDS = ("exec", "parameters", "annotations", "limits", "publish", "version", "name",
              "namespace", "delAnnotations", "updated")
"""What upstream's clients send; ``version`` and ``updated`` are accepted and then set here."""
EXEC_FIELDS = ("kind", "code", "binary", "main", "image")
ANNOTATION = "edgewhisk"
CODE_MAX = 48 * 1024 * 1024
"""Upstream's action size limit (the code, base64 for zips)."""
DOCUMENT_MAX = CODE_MAX + entity.DOCUMENT_MAX
"""The largest PUT body of an action: its code plus what any entity may carry."""


def build(ns: str, name: str, body: Any, previous: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return the document to store for ``PUT ns/actions/name`` (``previous``: on overwrite)."""
    body = entity.object_body(body)
    entity.check_fields(body, PUT_FIELDS)
    _check_identity(body, ns, name)
    if "exec" in body:
        exec_ = check_exec(body["exec"])
    elif previous is not None:
        exec_ = dict(previous["exec"])
    else:
        raise BadRequest("exec: missing; an action needs {\"kind\", \"code\"} or a blackbox image")
    parameters = _kv(body, "parameters", previous, init=True)
    entity.check_parameters_size(parameters)
    annotations = _annotations(body, previous)
    limits = entity.limits(body.get("limits", {}), previous.get("limits") if previous else None)
    publish = entity.publish(body.get("publish", previous.get("publish", False) if previous
                                      else False))
    _derive_annotations(annotations, exec_)
    return {
        **entity.identity(ns, name, previous or {}),
        "exec": exec_,
        "parameters": parameters,
        "annotations": annotations,
        "limits": limits,
        "publish": publish,
        "updated": entity.now_ms(),
    }


def check_exec(value: Any) -> dict[str, Any]:
    """The ``exec`` object: a known kind, its code or image, its entry point."""
    if not isinstance(value, dict):
        raise BadRequest("exec: must be an object with 'kind' and 'code'")
    entity.check_fields(value, EXEC_FIELDS, "exec")
    kind = normalise_kind(value.get("kind"))
    code = value.get("code")
    if code is not None and not isinstance(code, str):
        raise BadRequest("exec.code: must be a string (source, or base64 of a zip)")
    if kind != "blackbox" and not code:
        raise BadRequest(f"exec.code: missing; a {kind} action needs its code")
    if code is not None and len(code) > CODE_MAX:
        raise BadRequest(f"exec.code: larger than the {CODE_MAX} bytes allowed")
    main = value.get("main", "main")
    if not isinstance(main, str) or not main:
        raise BadRequest("exec.main: must be a non-empty string")
    binary = value.get("binary")
    if binary is None:
        binary = _looks_zipped(code)
    elif not isinstance(binary, bool):
        raise BadRequest("exec.binary: must be true or false")
    out: dict[str, Any] = {"kind": kind, "code": code, "binary": binary, "main": main}
    image = value.get("image")
    if kind == "blackbox":
        if not isinstance(image, str) or not image.strip():
            raise BadRequest("exec.image: missing; a blackbox action needs a container image")
        out["image"] = image
    elif image is not None:
        raise BadRequest(f"exec.image: only blackbox actions take an image, not {kind}")
    if code is None:
        del out["code"]
    return out


def normalise_kind(kind: Any) -> str:
    if not isinstance(kind, str):
        raise BadRequest(f"exec.kind: missing; one of {', '.join(KINDS)}")
    kind = KIND_ALIASES.get(kind, kind)
    if kind.startswith("nodejs:") and kind[len("nodejs:"):].isdigit():
        kind = "nodejs:default"
    if kind not in KINDS:
        raise BadRequest(f"exec.kind: {kind!r} is not supported; use one of {', '.join(KINDS)}")
    return kind


def summary(doc: Mapping[str, Any]) -> dict[str, Any]:
    """An action as list responses show it: no code (upstream lists omit it too)."""
    out = entity.public(doc)
    out["exec"] = {"kind": doc["exec"]["kind"], "binary": doc["exec"].get("binary", False)}
    return out


def without_code(doc: Mapping[str, Any]) -> dict[str, Any]:
    """GET ``?code=false``: the whole entity except the code."""
    out = entity.public(doc)
    out["exec"] = {k: v for k, v in doc["exec"].items() if k != "code"}
    return out


def _check_identity(body: Mapping[str, Any], ns: str, name: str) -> None:
    """``name``/``namespace`` in the body (the wsk CLI sends them) must match the path."""
    if "name" in body and body["name"] != name:
        raise BadRequest(f"name: {body['name']!r} does not match the path's {name!r}")
    own = (ns, entity.DEFAULT_NAMESPACE, f"/{ns}", "")
    if "namespace" in body and body["namespace"] not in own:
        raise BadRequest(f"namespace: {body['namespace']!r} does not match the path's {ns!r}")
    if "version" in body and not isinstance(body["version"], str):
        raise BadRequest("version: must be a string such as '0.0.1' (the server sets it)")


def _kv(body: Mapping[str, Any], field: str, previous: Mapping[str, Any] | None,
        *, init: bool = False) -> list[dict[str, Any]]:
    if field in body:
        return entity.key_values(body[field], field, init=init)
    return [dict(item) for item in previous.get(field, [])] if previous else []


def _annotations(body: Mapping[str, Any], previous: Mapping[str, Any] | None
                 ) -> list[dict[str, Any]]:
    """Given annotations replace the previous ones; ``delAnnotations`` removes keys."""
    annotations = _kv(body, "annotations", previous)
    remove = body.get("delAnnotations", [])
    if not isinstance(remove, list) or not all(isinstance(key, str) for key in remove):
        raise BadRequest("delAnnotations: must be a list of annotation keys")
    annotations = [item for item in annotations if item["key"] not in remove]
    if "annotations" in body:
        entity.check_annotations_size(annotations)
    for item in annotations:
        if item["key"] == ANNOTATION:
            item["value"] = check_edgewhisk(item["value"])
    return annotations


def check_edgewhisk(value: Any) -> dict[str, Any]:
    """The SDK validator, its error turned into a 400 naming the field path."""
    try:
        return edgewhisk.validate(value)
    except edgewhisk.AnnotationError as exc:
        path = f"annotations.edgewhisk.{exc.path}" if exc.path else "annotations.edgewhisk"
        raise BadRequest(f"{path}: {exc.reason}") from exc


def _derive_annotations(annotations: list[dict[str, Any]], exec_: Mapping[str, Any]) -> None:
    """Upstream's ``exec`` and ``provide-api-key`` defaults, and ``invoker-resources``."""
    entity.set_default_annotation(annotations, "exec", exec_["kind"])
    entity.set_default_annotation(annotations, "provide-api-key", False)
    doc = entity.annotation(annotations, ANNOTATION)
    if doc is not None:
        tags = edgewhisk.invoker_resources(doc)
        if tags:
            entity.set_default_annotation(annotations, "invoker-resources", tags)


def _looks_zipped(code: str | None) -> bool:
    """Whether code without ``binary`` is a base64 zip (the JS client does not say)."""
    if not code or len(code) % 4:
        return False
    try:
        head = base64.b64decode(code[:64], validate=True)
    except (binascii.Error, ValueError):
        return False
    return head.startswith(b"PK\x03\x04")
