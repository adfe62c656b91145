"""Reading the stored entities the dispatcher runs: actions, their names, limits and specs.

Why here: the API validates and writes action documents (``schema/action.py``); the dispatcher
only reads them, and every reading rule it relies on (annotation truthiness, parameter merging,
default limits, name resolution inside compositions) is upstream's and lives in this one place.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from edgewhisk_runtime.containers.interface import ActionSpec

from ..stores import Doc
from .exceptions import CorruptedAction

ACTIONS = "actions"
TRIGGERS = "triggers"
DEFAULT_LIMITS = {"concurrency": 1, "logs": 10, "memory": 256, "timeout": 60_000}
DEFAULT_NAMESPACE = "_"
# upstream's EntityName.REGEX (ASCII \w, as on the JVM)
_NAME = re.compile(r"[\w]|[\w][\w@ .-]*[\w@.-]+", re.ASCII)


def annotation(entity: Mapping[str, Any], key: str, default: Any = None) -> Any:
    """The value of annotation ``key`` in an entity's ``[{"key", "value"}]`` list."""
    for item in entity.get("annotations") or ():
        if isinstance(item, Mapping) and item.get("key") == key:
            return item.get("value")
    return default


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
    """The action's limits with upstream's defaults for the missing ones."""
    given = action.get("limits") or {}
    return {k: int(given.get(k, v)) for k, v in DEFAULT_LIMITS.items()}


def path(ns: str, name: str) -> str:
    """Upstream's ``fullyQualifiedName(false)``: ``ns/name``."""
    return f"{ns}/{name}"


def exec_of(action: Mapping[str, Any]) -> Mapping[str, Any]:
    exec_ = action.get("exec")
    if not isinstance(exec_, Mapping) or not isinstance(exec_.get("kind"), str):
        raise CorruptedAction(f"Action {action.get('name')!r} has no readable exec.")
    return exec_


def spec_of(ns: str, action: Doc, *, api_host: str) -> ActionSpec:
    """The container pool's view of an action version.

    The key holds the version and a digest of everything that shapes the container, so a
    warm container is reused only for exactly this code.
    """
    exec_ = exec_of(action)
    lim = limits(action)
    digest = _code_digest(action, exec_)
    return ActionSpec(
        key=f"{path(ns, action['name'])}@{action.get('version', '0.0.1')}#{digest}",
        kind=exec_["kind"],
        code=exec_.get("code"),
        binary=bool(exec_.get("binary", False)),
        main=exec_.get("main") or "main",
        image=exec_.get("image"),
        env={"__OW_API_HOST": api_host},
        memory_mb=lim["memory"],
        timeout_ms=lim["timeout"],
        concurrency=lim["concurrency"],
        logs_mb=lim["logs"],
    )


_DIGESTS: dict[tuple[str, str], str] = {}
"""Code digests by the stored document's (``_id``, ``_rev``): a revision names one content."""
DIGESTS_KEPT = 1024


def _code_digest(action: Doc, exec_: Mapping[str, Any]) -> str:
    """The digest of what shapes the container, computed once per stored revision.

    Why remembered: hashing the code (up to 48 MB of base64) on every invoke would cost the
    event loop time proportional to the action's size on its hot path.
    """
    id, rev = action.get("_id"), action.get("_rev")
    key = (id, rev) if isinstance(id, str) and isinstance(rev, str) else None
    if key is not None and key in _DIGESTS:
        return _DIGESTS[key]
    shape = {k: exec_.get(k) for k in ("kind", "code", "binary", "main", "image")}
    digest = hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:16]
    if key is not None:
        if len(_DIGESTS) >= DIGESTS_KEPT:
            del _DIGESTS[next(iter(_DIGESTS))]  # the oldest entry
        _DIGESTS[key] = digest
    return digest


def resolve_name(value: Any, ns: str) -> tuple[str, str] | None:
    """Resolve a composition's ``action`` field to (namespace, name), or None if malformed.

    As upstream's ``FullyQualifiedEntityName.resolveName``: ``name`` and ``pkg/name`` are
    relative to ``ns``; ``/ns2/name`` is fully qualified; ``/_/name`` means ``ns``. Packages
    are not supported, so ``pkg/name`` resolves to a name that does not exist.
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
    if len(rest) > 2 or not all(_NAME.fullmatch(p) for p in [namespace, *rest]):
        return None
    return namespace, "/".join(rest)
