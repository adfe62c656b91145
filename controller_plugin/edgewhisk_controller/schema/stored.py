"""Reading stored entities: annotations, truthiness, parameters, limits, exec and names.

Why in ``schema/``: the API validates and writes entity documents (:mod:`.entity`,
:mod:`.action`); the activation flow (``dispatch/``) and the placement compiler
(``preprocess/``) only read them, and every reading rule they rely on (annotation truthiness,
parameter merging, default limits, name resolution inside compositions) is upstream's. Here,
below both readers, each rule exists once; the name pattern, the default namespace and the
limits' defaults are :mod:`.entity`'s, the same the API checks writes against.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import entity
from .entity import DEFAULT_NAMESPACE as DEFAULT_NAMESPACE  # read by the compiler too
from .exceptions import CorruptedAction

ACTIONS = "actions"


def annotation(doc: Mapping[str, Any], key: str, default: Any = None) -> Any:
    """The value of annotation ``key`` of a stored entity (``default`` when absent)."""
    return entity.annotation(doc.get("annotations") or (), key, default)


def is_truthy(value: Any) -> bool:
    """Upstream's ``Parameters.isTruthy``: false, 0, "" and null are false; the rest true."""
    if value is None or value is False:
        return False
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value != 0
    if isinstance(value, str):
        return value != ""
    return True


def is_conductor(action: Mapping[str, Any]) -> bool:
    return is_truthy(annotation(action, "conductor"))


SEQUENCE = "sequence"
"""The ``exec.kind`` of a sequence (upstream's ``Exec.SEQUENCE``)."""


def is_sequence(action: Mapping[str, Any]) -> bool:
    exec_ = action.get("exec")
    return isinstance(exec_, Mapping) and exec_.get("kind") == SEQUENCE


PARAMETERS_NOT_ALLOWED = ("Request defines parameters that are not allowed (e.g., reserved "
                          "properties).")
"""Upstream's ``Messages.parametersNotAllowed``: a request setting ``final`` (or, for a web
action, reserved ``__ow_*``) parameters."""


def final_parameters(action: Mapping[str, Any]) -> frozenset[str]:
    """Upstream's ``immutableParameters``: with a ``final: true`` annotation, every parameter
    with a value (package and binding ones included) may not be set by an invocation."""
    if annotation(action, "final") is not True:
        return frozenset()
    return frozenset(key for key, value in parameters(action).items() if value is not None)


def init_parameters(action: Mapping[str, Any]) -> frozenset[str]:
    """The parameters marked ``init: true``: exported to the action's environment at
    ``/init`` and not passed to ``/run`` (upstream's ``ContainerProxy.partitionArguments``)."""
    return frozenset(item["key"] for item in action.get("parameters") or ()
                     if isinstance(item, Mapping) and item.get("init") is True)


def provides_api_key(action: Mapping[str, Any]) -> bool:
    """Upstream passes the key unless ``provide-api-key`` is present and falsy."""
    return is_truthy(annotation(action, "provide-api-key", True))


def parameters(entity: Mapping[str, Any]) -> dict[str, Any]:
    """An entity's ``parameters`` list as a dict (a later key wins)."""
    out: dict[str, Any] = {}
    for item in entity.get("parameters") or ():
        if isinstance(item, Mapping) and isinstance(item.get("key"), str):
            out[item["key"]] = item.get("value")
    return out


def merged_parameters(entity: Mapping[str, Any], payload: Mapping[str, Any] | None) -> dict:
    """Entity parameters overridden by the request's (as upstream's ``merge``)."""
    return {**parameters(entity), **(payload or {})}


def limits(action: Mapping[str, Any]) -> dict[str, int]:
    """The action's limits with upstream's defaults for the missing ones, keys in alphabetical
    order as upstream's activation records show them."""
    given = action.get("limits") or {}
    return {k: int(given.get(k, v)) for k, v in _SORTED_DEFAULTS}


_SORTED_DEFAULTS = tuple(sorted(entity.default_limits().items()))
"""Worked out once: ``limits`` runs several times per invoke (placement, the record, the run)."""


def path(ns: str, name: str) -> str:
    """Upstream's ``fullyQualifiedName(false)``: ``ns/name``."""
    return f"{ns}/{name}"


def action_path(ns: str, action: Mapping[str, Any]) -> str:
    """Where a stored action lives, ``ns/name`` or ``ns/pkg/name`` (its own ``namespace``
    field; ``ns`` for a document that has none): the ``path`` of its records."""
    return path(str(action.get("namespace") or ns), str(action.get("name", "")))


def exec_of(action: Mapping[str, Any]) -> Mapping[str, Any]:
    exec_ = action.get("exec")
    if not isinstance(exec_, Mapping) or not isinstance(exec_.get("kind"), str):
        raise CorruptedAction(f"Action {action.get('name')!r} has no readable exec.")
    return exec_


def resolve_name(value: Any, ns: str) -> tuple[str, str] | None:
    """Resolve a composition's ``action`` field to (namespace, name), or None if malformed.

    As upstream's ``FullyQualifiedEntityName.resolveName``: ``name`` and ``pkg/name`` are
    relative to ``ns``; ``/ns2/name`` and ``/ns2/pkg/name`` are fully qualified; ``/_/name``
    means ``ns``. The package, binding and sharing rules apply when the name is resolved to an
    action (``dispatch/resolve.py``).
    """
    if not isinstance(value, str) or not value:
        return None
    parts = value.split("/")
    if value.startswith("/"):
        parts = parts[1:]
        if len(parts) < 2:
            return None
        namespace, rest = parts[0], parts[1:]
        if namespace == DEFAULT_NAMESPACE:
            namespace = ns
    else:
        namespace, rest = ns, parts
    if len(rest) > 2 or not all(entity.NAME.fullmatch(p) for p in [namespace, *rest]):
        return None
    return namespace, "/".join(rest)
