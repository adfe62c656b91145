"""An action version as the container pool sees it: its ``ActionSpec``, keyed by its code.

Why in the activation flow: the spec is what the dispatcher hands an invoker; how a stored
document is read (exec, limits, names) is ``schema/stored.py``'s, shared with the compiler.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from edgewhisk_runtime.containers.interface import ActionSpec

from ..schema import stored
from ..stores import Doc


def spec_of(ns: str, action: Doc, *, api_host: str,
            init_env: Mapping[str, Any] | None = None) -> ActionSpec:
    """The container pool's view of an action version, run for namespace ``ns``.

    The key holds the version and a digest of everything that shapes the container, so a
    warm container is reused only for exactly this code, these ``init`` parameters (exported
    to its environment at ``/init``; values that are not strings as JSON, as the runtime
    exports them) and, for an action of another namespace's shared package, this namespace:
    one tenant's container never runs another's activation.
    """
    exec_ = stored.exec_of(action)
    lim = stored.limits(action)
    path = stored.action_path(ns, action)
    env = {key: value if isinstance(value, str) else json.dumps(value)
           for key, value in (init_env or {}).items()}
    digest = _code_digest(action, exec_)
    if env or path.split("/", 1)[0] != ns:
        digest = _digest([digest, ns, env])
    return ActionSpec(
        key=f"{path}@{action.get('version', '0.0.1')}#{digest}",
        kind=exec_["kind"],
        code=exec_.get("code"),
        binary=bool(exec_.get("binary", False)),
        main=exec_.get("main") or "main",
        image=exec_.get("image"),
        env={**env, "__OW_API_HOST": api_host},
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
    digest = _digest({k: exec_.get(k) for k in ("kind", "code", "binary", "main", "image")})
    if key is not None:
        if len(_DIGESTS) >= DIGESTS_KEPT:
            del _DIGESTS[next(iter(_DIGESTS))]  # the oldest entry
        _DIGESTS[key] = digest
    return digest


def _digest(shape: Any) -> str:
    return hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:16]
