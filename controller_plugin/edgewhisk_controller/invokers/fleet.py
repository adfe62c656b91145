"""``--fleet FILE``: the controller's local invokers, each with placement attributes.

Why a file: tests and the demo run a small simulated fleet (cloud machines, "devices" of
users, sites, networks, capabilities) on one machine, each member a ``LocalInvoker`` with its
own container pool, so placement decisions can be watched end to end. The file is a JSON
list of objects::

    [{"id": "cloud-1", "site": "dc", "capabilities": ["gpu"]},
     {"id": "u1-phone", "role": "edge", "owner": "u1", "site": "home-u1",
      "networks": ["home_u1"], "labels": {"os": "android"}, "memory_mb": 512}]

Only ``id`` is required; ``memory_mb`` defaults to ``--invoker-memory``, ``kinds`` to what
the backend runs, ``namespaces`` to all. Unknown keys are errors (a typo must not silently
drop a constraint).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..placement.state import ROLES


@dataclass(frozen=True)
class FleetMember:
    id: str
    memory_mb: int | None = None
    kinds: frozenset[str] | None = None
    namespaces: frozenset[str] | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)  # InvokerState's extras


_SETS = ("capabilities", "networks", "cached")
_KNOWN = {"id", "memory_mb", "kinds", "namespaces", "role", "owner", "site", "labels",
          "bandwidth_mbps", "cpus", *_SETS}


def load_fleet(path: str | Path) -> tuple[FleetMember, ...]:
    """Read and check a fleet file (``ValueError`` naming the member and the field)."""
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the fleet file {path}: {exc}") from exc
    if not isinstance(doc, list) or not doc:
        raise ValueError("the fleet file holds a non-empty JSON list of invokers")
    members = tuple(_member(i, entry) for i, entry in enumerate(doc))
    ids = [m.id for m in members]
    if len(set(ids)) != len(ids):
        raise ValueError("fleet invoker ids must be unique")
    return members


def _member(i: int, entry: Any) -> FleetMember:
    where = f"fleet[{i}]"
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or not entry["id"]:
        raise ValueError(f"{where}: an object with a non-empty string 'id'")
    unknown = sorted(set(entry) - _KNOWN)
    if unknown:
        raise ValueError(f"{where}: unknown keys {', '.join(unknown)}")
    attrs: dict[str, Any] = {}
    role = entry.get("role", "cloud")
    if role not in ROLES:
        raise ValueError(f"{where}.role: one of {ROLES}, got {role!r}")
    attrs["role"] = role
    for name in ("owner", "site"):
        if name in entry:
            if not isinstance(entry[name], str):
                raise ValueError(f"{where}.{name}: a string")
            attrs[name] = entry[name]
    labels = entry.get("labels", {})
    if not isinstance(labels, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
        raise ValueError(f"{where}.labels: an object of strings")
    attrs["labels"] = dict(labels)
    for name in _SETS:
        attrs[name] = _strings(entry.get(name, []), f"{where}.{name}")
    for name in ("bandwidth_mbps", "cpus"):
        if name in entry:
            value = entry[name]
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"{where}.{name}: a positive number")
            attrs[name] = float(value)
    memory = entry.get("memory_mb")
    if memory is not None and (isinstance(memory, bool) or not isinstance(memory, int)
                               or memory < 128):
        raise ValueError(f"{where}.memory_mb: an integer >= 128")
    kinds = entry.get("kinds")
    namespaces = entry.get("namespaces")
    return FleetMember(
        entry["id"], memory,
        None if kinds is None else _strings(kinds, f"{where}.kinds"),
        None if namespaces is None else _strings(namespaces, f"{where}.namespaces"),
        attrs,
    )


def _strings(value: Any, where: str) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where}: a list of strings")
    return frozenset(value)
