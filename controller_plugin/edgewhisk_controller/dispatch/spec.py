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
from ..schema.revisions import PerRevision
from ..stores import Doc


def spec_of(ns: str, action: Doc, *, api_host: str,
            init_env: Mapping[str, Any] | None = None) -> ActionSpec:
    """The container pool's view of an action version, run for namespace ``ns``.

    The key holds the version and a digest of everything that shapes the container, so a
    warm container is reused only for exactly this code, these ``init`` parameters (exported
    to its environment at ``/init``; values that are not strings as JSON, as the runtime
    exports them) and, for an action of another namespace's shared package, this namespace:
    one tenant's container never runs another's activation.

    Without ``init`` parameters the spec depends only on the stored revision, the namespace
    and the API host, so it is built once per revision for each (it is frozen); only for
    code up to ``SPEC_CODE_KEPT`` characters, so the remembered revisions cannot hold
    gigabytes of code (a large action's invoke is not the one whose spec's cost shows).
    """
    code = stored.exec_of(action).get("code")
    if init_env or (isinstance(code, str) and len(code) > SPEC_CODE_KEPT):
        return _spec(ns, action, api_host, init_env or {})
    specs = _specs(action)
    spec = specs.get((ns, api_host))
    if spec is None:
        spec = specs[(ns, api_host)] = _spec(ns, action, api_host, {})
    return spec


SPEC_CODE_KEPT = 64 * 1024
_specs: PerRevision[Doc, dict[tuple[str, str], ActionSpec]] = PerRevision(lambda action: {})
"""A revision's specs without ``init`` parameters, by (namespace, API host)."""


def _spec(ns: str, action: Doc, api_host: str, init_env: Mapping[str, Any]) -> ActionSpec:
    exec_ = stored.exec_of(action)
    lim = stored.limits(action)
    path = stored.action_path(ns, action)
    env = {key: value if isinstance(value, str) else json.dumps(value)
           for key, value in init_env.items()}
    digest = _code_digest(action)
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


def _shape_digest(action: Doc) -> str:
    """The digest of what shapes the container (``exec``'s fields)."""
    exec_ = stored.exec_of(action)
    return _digest({k: exec_.get(k) for k in ("kind", "code", "binary", "main", "image")})


_code_digest = PerRevision(_shape_digest)
"""Computed once per stored revision: hashing the code (up to 48 MB of base64) on every invoke
would cost the event loop time proportional to the action's size on its hot path."""


def _digest(shape: Any) -> str:
    return hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:16]
