"""Package documents: a package (a folder of actions sharing parameters) or a binding to one.

Stored as upstream's ``WhiskPackage`` shows it (``namespace``, ``name``, ``version``,
``binding``, ``parameters``, ``annotations``, ``publish``, ``updated``): ``binding`` is ``{}``
for a package and ``{"namespace", "name"}`` for a binding, and a binding also carries the
``binding`` annotation (always set here, never taken from the body), as upstream's
``WhiskPackagesApi.bindingAnnotation`` writes it for clients that only read lists. An update
keeps what the body leaves out, as upstream's ``update`` does; a package never becomes a
binding (409). What needs the store (the bound package exists, is no binding itself and may be
read) is checked by the API (``api/packages.py``).

Upstream's messages (``Messages`` in apache/openwhisk), word for word, are here so that the
API and the resolution of packaged actions say the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..exceptions import BadRequest, Conflict
from . import entity

COLLECTION = "packages"
PUT_FIELDS = ("binding", "parameters", "annotations", "publish", "version", "name", "namespace",
              "updated")
RESERVED_NAMES = frozenset({"default"})
"""Upstream's ``RESERVED_NAMES``: ``default`` names the default package in web action paths."""
BINDING = "binding"

BINDING_DOES_NOT_EXIST = "Binding references a package that does not exist."
PACKAGE_CANNOT_BECOME_BINDING = "Resource is a package and cannot be converted into a binding."
BINDING_CANNOT_REFERENCE_BINDING = "Cannot bind to another package binding."
NOT_ALLOWED_ON_BINDING = "Operation not permitted on package binding."


def package_name_is_reserved(name: str) -> str:
    return f"Package name '{name}' is reserved."


def package_not_empty(count: int) -> str:
    """Upstream's refusal to delete a package that still holds actions (without ``force``)."""
    what = "entity" if count == 1 else "entities"
    return (f"Package not empty (contains {count} {what}). Set force param or delete package "
            "contents.")


def build(ns: str, name: str, body: Any, previous: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return the document to store for ``PUT ns/packages/name`` (``previous``: on update)."""
    if name in RESERVED_NAMES:
        raise BadRequest(package_name_is_reserved(name))
    body = entity.object_body(body)
    entity.check_fields(body, PUT_FIELDS)
    if "name" in body and body["name"] != name:
        raise BadRequest(f"name: {body['name']!r} does not match the path's {name!r}")
    old = previous or {}
    binding = binding_of(body["binding"], ns) if "binding" in body else None
    if binding and previous is not None and not previous.get(BINDING):
        raise Conflict(PACKAGE_CANNOT_BECOME_BINDING)
    binding = binding or dict(old.get(BINDING) or {})
    parameters = entity.given_or_kept(body, "parameters", old)
    entity.check_parameters_size(parameters)
    annotations = [a for a in entity.given_or_kept(body, "annotations", old)
                   if a["key"] != BINDING]
    if binding:
        annotations.append({"key": BINDING, "value": dict(binding)})
    return {
        **entity.identity(ns, name, old),
        BINDING: binding,
        "parameters": parameters,
        "annotations": annotations,
        "publish": entity.publish(body.get("publish", old.get("publish", False))),
        "updated": entity.now_ms(),
    }


def binding_of(value: Any, ns: str) -> dict[str, str]:
    """A PUT's ``binding``: ``{}`` (none) or ``{"namespace", "name"}``; ``_`` is ``ns``."""
    if value in (None, {}):
        return {}
    if not isinstance(value, dict):
        raise BadRequest("binding: must be an object with 'namespace' and 'name'")
    entity.check_fields(value, ("namespace", "name"), "binding")
    target_ns = value.get("namespace", entity.DEFAULT_NAMESPACE)
    target_ns = ns if target_ns in (entity.DEFAULT_NAMESPACE, "") else target_ns
    return {"namespace": entity.check_name(target_ns, "binding.namespace"),
            "name": entity.check_name(value.get("name"), "binding.name")}


def is_binding(doc: Mapping[str, Any]) -> bool:
    return bool(doc.get(BINDING))


def summary(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A package as lists show it: upstream's ``summaryAsJson`` (``binding`` false or the
    bound package)."""
    out = {k: doc[k] for k in ("namespace", "name", "version", "publish", "annotations",
                               "updated") if k in doc}
    out[BINDING] = dict(doc[BINDING]) if doc.get(BINDING) else False
    return out


def content_entry(action: Mapping[str, Any]) -> dict[str, Any]:
    """An action as a package's ``actions``/``feeds`` list shows it (``WhiskPackageAction``)."""
    return {"name": action["name"], "version": action.get("version", "0.0.1"),
            "annotations": list(action.get("annotations") or [])}


def is_feed(action: Mapping[str, Any]) -> bool:
    """Upstream counts an action as a feed when it has a ``feed`` annotation, whatever its
    value (``WhiskPackage.withPackageActions``)."""
    return entity.annotation(action.get("annotations") or (), "feed", _ABSENT) is not _ABSENT


_ABSENT = object()
