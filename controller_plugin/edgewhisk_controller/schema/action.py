"""Action documents: the PUT body checked, merged with the previous version, made storable.

The stored document is OpenWhisk's entity (namespace, name, version, exec, parameters,
annotations, limits, publish, updated) under ``_id`` ``ns/name`` (``ns/pkg/name`` in a
package, whose ``namespace`` is then ``ns/pkg``): the dispatcher reads it as is. An update
keeps what the body leaves out (exec, parameters, each limit) and bumps the patch version;
given annotations are merged over the previous ones by key, after ``delAnnotations`` removed
keys, as upstream's ``updateWhiskAction`` does, so an update never drops the ``edgewhisk``
annotation unless it is asked to. The ``edgewhisk`` annotation is validated with the SDK's own
validator (one validator for decorators, CLI and controller) and stored in its normalised
form; its hard capabilities become OpenWhisk's ``invoker-resources`` so the action also lands
on tagged invokers of a stock OpenWhisk 2.x. Code may be empty: upstream accepts it, and the
invocation fails at ``/init`` (``Missing main/no code to execute.``). A sequence
(``schema/sequence.py``) has components instead of code.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

import edgewhisk

from ..exceptions import BadRequest
from . import entity, sequence

KINDS = ("python:3", "nodejs:default", "blackbox", sequence.KIND)
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
        exec_ = check_exec(body["exec"], ns.split("/", 1)[0])
    elif previous is not None:
        exec_ = dict(previous["exec"])
    else:
        raise BadRequest("exec: missing; an action needs {\"kind\", \"code\"} or a blackbox image")
    parameters = _parameters(body, previous, exec_)
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


def check_exec(value: Any, ns: str = entity.DEFAULT_NAMESPACE) -> dict[str, Any]:
    """The ``exec`` object: a known kind, its code or image, its entry point (a sequence: its
    components, qualified against ``ns``)."""
    if not isinstance(value, dict):
        raise BadRequest("exec: must be an object with 'kind' and 'code'")
    kind = normalise_kind(value.get("kind"))
    if kind == sequence.KIND:
        return sequence.check_exec(value, ns)
    entity.check_fields(value, EXEC_FIELDS, "exec")
    code = value.get("code")
    if code is not None and not isinstance(code, str):
        raise BadRequest("exec.code: must be a string (source, or base64 of a zip)")
    if kind != "blackbox" and code is None:
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


def _parameters(body: Mapping[str, Any], previous: Mapping[str, Any] | None,
                exec_: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Upstream's rules: a sequence's parameters are its ``_actions``; an update that leaves
    ``exec`` out keeps a sequence's parameters whatever the body says; an action that stops
    being a sequence does not inherit ``_actions``."""
    if exec_["kind"] == sequence.KIND:
        if "exec" in body or previous is None:
            return sequence.actions_parameter(dict(exec_))
        return [dict(item) for item in previous.get("parameters", [])]
    if previous is not None and previous["exec"]["kind"] == sequence.KIND and \
            "parameters" not in body:
        return []
    return _kv(body, "parameters", previous, init=True)


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
    """The previous annotations less ``delAnnotations``, then the given ones merged over them
    by key (upstream's ``updateWhiskAction``); ``invoker-resources`` that were derived from a
    previous ``edgewhisk`` annotation are derived again (``_derive_annotations``)."""
    remove = body.get("delAnnotations", [])
    if not isinstance(remove, list) or not all(isinstance(key, str) for key in remove):
        raise BadRequest("delAnnotations: must be a list of annotation keys")
    given = entity.key_values(body["annotations"], "annotations") if "annotations" in body \
        else []
    kept = [dict(item) for item in (previous or {}).get("annotations", [])
            if item["key"] not in remove]
    derived = _derived_tags(previous)
    if derived and entity.annotation(kept, TAGS) == derived and \
            all(item["key"] != TAGS for item in given):
        kept = [item for item in kept if item["key"] != TAGS]  # derived again below
    merged = {item["key"]: item for item in kept}
    for item in given:
        merged.pop(item["key"], None)
        merged[item["key"]] = item
    annotations = list(merged.values())
    if "annotations" in body:
        entity.check_annotations_size(annotations)
    for item in annotations:
        if item["key"] == ANNOTATION and any(g is item for g in given):
            item["value"] = check_edgewhisk(item["value"])
    return annotations


TAGS = "invoker-resources"


def _derived_tags(previous: Mapping[str, Any] | None) -> list[str] | None:
    """The ``invoker-resources`` the previous ``edgewhisk`` annotation implied, if any."""
    doc = entity.annotation((previous or {}).get("annotations", []), ANNOTATION)
    if not isinstance(doc, dict):
        return None
    try:
        return edgewhisk.invoker_resources(doc) or None
    except edgewhisk.AnnotationError:
        return None


def check_edgewhisk(value: Any) -> dict[str, Any]:
    """The SDK validator, its error turned into a 400 naming the field path."""
    try:
        return edgewhisk.validate(value)
    except edgewhisk.AnnotationError as exc:
        path = f"annotations.edgewhisk.{exc.path}" if exc.path else "annotations.edgewhisk"
        raise BadRequest(f"{path}: {exc.reason}") from exc


def _derive_annotations(annotations: list[dict[str, Any]], exec_: Mapping[str, Any]) -> None:
    """Upstream's ``exec`` (always the kind, as ``amendAnnotations``) and ``provide-api-key``
    defaults, and ``invoker-resources``."""
    annotations[:] = [item for item in annotations if item["key"] != "exec"]
    annotations.append({"key": "exec", "value": exec_["kind"]})
    entity.set_default_annotation(annotations, "provide-api-key", False)
    doc = entity.annotation(annotations, ANNOTATION)
    if doc is not None:
        tags = edgewhisk.invoker_resources(doc)
        if tags:
            entity.set_default_annotation(annotations, TAGS, tags)


def _looks_zipped(code: str | None) -> bool:
    """Whether code without ``binary`` is a base64 zip (the JS client does not say)."""
    if not code or len(code) % 4:
        return False
    try:
        head = base64.b64decode(code[:64], validate=True)
    except (binascii.Error, ValueError):
        return False
    return head.startswith(b"PK\x03\x04")
