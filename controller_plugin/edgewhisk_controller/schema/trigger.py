"""Trigger documents: parameters and annotations to fire with, and the rules that follow them.

``rules`` maps ``ns/rule`` to ``{"action": {"name", "path"}, "status"}``, exactly upstream's
shape; the rules API keeps it in sync (``stores.update``) and the dispatcher reads it when the
trigger fires, so one read finds every action to invoke.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..exceptions import BadRequest
from . import entity

PUT_FIELDS = ("parameters", "annotations", "limits", "publish", "version", "name", "namespace",
              "feed", "updated")


def build(ns: str, name: str, body: Any, previous: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return the document to store for ``PUT ns/triggers/name``; its rules are kept."""
    body = entity.object_body(body)
    entity.check_fields(body, PUT_FIELDS)
    if "name" in body and body["name"] != name:
        raise BadRequest(f"name: {body['name']!r} does not match the path's {name!r}")
    if "feed" in body:
        raise BadRequest("feed: trigger feeds are not supported")
    if body.get("limits") not in (None, {}):
        raise BadRequest("limits: triggers take no limits")
    old = previous or {}
    parameters = entity.given_or_kept(body, "parameters", old)
    entity.check_parameters_size(parameters)
    annotations = entity.given_or_kept(body, "annotations", old)
    return {
        **entity.identity(ns, name, old),
        "parameters": parameters,
        "annotations": annotations,
        "limits": {},
        "publish": entity.publish(body.get("publish", old.get("publish", False))),
        "rules": dict(old.get("rules", {})),
        "updated": entity.now_ms(),
    }

