"""The offline policy: which devices may keep an action's code and run it without the controller.

Why a policy of its own: an action runs on a device cut off from the controller only if the
device already holds its code, and code is a tenant's property, so it is copied only to the
devices the author names. ``@policy.offline()`` allows every edge device of the action's
namespace; ``node=`` names device ids, ``capability=`` the capabilities a device must offer (all
of them); both given, a device must match both. Names are plain ids, never ``{variables}``: the
copy is made when the action is created or a device registers, not per activation.

The rule is written once, here, in :func:`may_cache`: the controller applies it when it sends a
device an action to cache, the agent again before it runs a cached copy (a copy the author has
since narrowed away is never run). Copies are versioned by the action's own version: a newer
version replaces the copy, a deleted action (or one without the policy) removes it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from .checks import PLAIN_NAME, expect, string
from .exceptions import AnnotationError

OFFLINE_KEYS = ("type", "node", "capability")
DEVICE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""An invoker id (the tunnel's rule: ``edgewhisk_tunnel.messages._ID``)."""


def _names(value: Any, path: str, pattern: re.Pattern[str], what: str) -> list[str]:
    """A string or a non-empty list of distinct strings, normalised to a list."""
    items = [value] if isinstance(value, str) else value
    expect(items, list, path, "a string or a list of strings")
    if not items:
        raise AnnotationError(path, "empty list; name at least one")
    out = [string(item, f"{path}[{i}]" if isinstance(value, list) else path, pattern, what)
           for i, item in enumerate(items)]
    if len(set(out)) != len(out):
        raise AnnotationError(path, "lists a name twice")
    return out


def validate_offline(entry: Mapping[str, Any], path: str) -> dict[str, Any]:
    """The normalised offline policy (``node`` and ``capability`` always lists when given)."""
    out: dict[str, Any] = {"type": "offline"}
    if entry.get("node") is not None:
        out["node"] = _names(entry["node"], f"{path}.node", DEVICE_ID,
                             "a device id: letters, digits, '.', '_', '-' (no {variables})")
    if entry.get("capability") is not None:
        out["capability"] = _names(entry["capability"], f"{path}.capability", PLAIN_NAME,
                                   "a capability name")
    return out


def offline_policy(annotation: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The (validated) annotation's offline policy, or None when it has none."""
    for policy in (annotation or {}).get("policies", []):
        if isinstance(policy, Mapping) and policy.get("type") == "offline":
            return dict(policy)
    return None


def may_cache(policy: Mapping[str, Any] | None, device: str,
              capabilities: Iterable[str]) -> bool:
    """True when ``device`` (with ``capabilities``) may keep and run the action offline."""
    if policy is None:
        return False
    if "node" in policy and device not in policy["node"]:
        return False
    return set(policy.get("capability", ())) <= set(capabilities)
