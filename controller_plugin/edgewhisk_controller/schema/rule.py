"""Rule documents: which action a trigger's firing invokes, and whether the rule is active.

Stored as upstream shows them: ``trigger`` and ``action`` as ``{"name", "path"}`` (path = the
namespace, or ``ns/pkg`` for an action in a package), ``status`` ``active`` or ``inactive``.
Rules connect entities of the caller's own namespace only, so a foreign namespace is a 403
like a foreign path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..exceptions import BadRequest, Forbidden
from . import entity

PUT_FIELDS = ("trigger", "action", "status", "annotations", "publish", "version", "name",
              "namespace", "updated")
STATUSES = ("active", "inactive")


def build(ns: str, name: str, body: Any, previous: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return the rule document for ``PUT ns/rules/name`` (new rules start active)."""
    body = entity.object_body(body)
    entity.check_fields(body, PUT_FIELDS)
    if "name" in body and body["name"] != name:
        raise BadRequest(f"name: {body['name']!r} does not match the path's {name!r}")
    old = previous or {}
    refs = {}
    for field in ("trigger", "action"):
        if field in body:
            ref_ns, ref_name = entity.qualified(body[field], field, ns,
                                                packaged=field == "action")
            if ref_ns.split("/", 1)[0] != ns:
                raise Forbidden(f"{field}: {body[field]!r} is in another namespace")
            refs[field] = {"name": ref_name, "path": ref_ns}
        elif field in old:
            refs[field] = dict(old[field])
        else:
            raise BadRequest(f"{field}: missing; a fully qualified name such as '/{ns}/name'")
    annotations = entity.given_or_kept(body, "annotations", old)
    return {
        **entity.identity(ns, name, old),
        "trigger": refs["trigger"],
        "action": refs["action"],
        # the wsk CLI always sends "status" (empty unless set): empty keeps the current one
        "status": check_status(body.get("status") or old.get("status", "active")),
        "annotations": annotations,
        "publish": entity.publish(body.get("publish", old.get("publish", False))),
        "updated": entity.now_ms(),
    }


def check_status(value: Any) -> str:
    if value not in STATUSES:
        raise BadRequest(f"status: {value!r} must be 'active' or 'inactive'")
    return str(value)


def trigger_entry(rule: Mapping[str, Any]) -> dict[str, Any]:
    """The rule as its trigger's ``rules`` map holds it."""
    return {"action": dict(rule["action"]), "status": rule["status"]}
