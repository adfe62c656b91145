"""Sequence actions: ``exec: {"kind": "sequence", "components": [...]}``.

As upstream's ``SequenceExec``: each component is a fully qualified action name, ``ns/name``
or ``ns/pkg/name`` with or without the leading slash (``_`` is the caller's namespace, resolved
when the sequence is stored), kept as ``/ns/name``. Upstream also writes the components into
the sequence's parameters as ``_actions`` (a sequence takes no parameters of its own: what it
is invoked with goes to its first component), and so do we, so clients read the same entity.
Whether the components exist, may be read and make no cycle needs the store: the API checks
that (``dispatch/sequence.py``) before the sequence is stored.
"""

from __future__ import annotations

from typing import Any

from ..exceptions import BadRequest
from . import entity

KIND = "sequence"
COMPONENTS = "components"
ACTIONS_PARAMETER = "_actions"
LIMIT = 50
"""Upstream's ``actionSequenceLimit``: atomic actions in a sequence, nested ones counted."""

NO_COMPONENT = "No component specified for the sequence."
TOO_LONG = "Too many actions in the sequence."
CYCLIC = "Sequence may not refer to itself."
COMPONENT_NOT_FOUND = "Sequence component does not exist."
MALFORMED_NAME = ("The fully qualified name of the entity must contain at least the namespace "
                  "and the name of the entity.")
"""Upstream's messages (``Messages`` in apache/openwhisk), word for word."""


def check_exec(value: dict[str, Any], ns: str) -> dict[str, Any]:
    """A sequence's ``exec``: its components, each qualified and resolved against ``ns``."""
    entity.check_fields(value, ("kind", COMPONENTS), "exec")
    components = value.get(COMPONENTS)
    if not isinstance(components, list):
        raise BadRequest("exec.components: must be a list of fully qualified action names")
    if not components:
        raise BadRequest(NO_COMPONENT)
    if len(components) > LIMIT:
        raise BadRequest(TOO_LONG)
    return {"kind": KIND, COMPONENTS: [qualified(c, ns) for c in components]}


def qualified(value: Any, ns: str) -> str:
    """``/ns/name`` or ``/ns/pkg/name`` for a component as a client wrote it."""
    if not isinstance(value, str):
        raise BadRequest(f"exec.components: {value!r} is not a fully qualified action name")
    parts = value.strip("/").split("/") if value.strip("/") else []
    if not 2 <= len(parts) <= 3:
        raise BadRequest(MALFORMED_NAME)
    if parts[0] == entity.DEFAULT_NAMESPACE:
        parts[0] = ns
    for part in parts:
        entity.check_name(part, "exec.components")
    return "/" + "/".join(parts)


def actions_parameter(exec_: dict[str, Any]) -> list[dict[str, Any]]:
    """The parameters upstream stores on a sequence: ``_actions``, its components."""
    return [{"key": ACTIONS_PARAMETER, "value": list(exec_[COMPONENTS])}]
