"""What controllers tell each other through Redis, as text: a device's placement state, a
forwarded activation (the tunnel's own ``run`` frame) and its answer (a ``result`` frame).

Why the tunnel's frames: a forwarded activation goes down the holder's tunnel unchanged, so the
schema that checks every frame a device sees (``edgewhisk_tunnel.messages``) checks these too,
and an activation that could not go down a tunnel (over ``MAX_FRAME_BYTES``) is refused here
with the same ``NotDeliverable``. The twins' field names are the same by design (checked by
``tests/tunnel/test_parity.py``), so the conversions below copy fields by name, as the
device's agent does (``edgewhisk_tunnel.copies``).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from edgewhisk_runtime.containers import ActionSpec, RunOutcome
from edgewhisk_tunnel import Outcome, RunSpec
from edgewhisk_tunnel.copies import by_name, outcome_from

from ..placement.interface import InvokerState

SETS = frozenset(f.name for f in dataclasses.fields(InvokerState)
                 if "frozenset" in str(f.type))
"""The state's set columns, written as sorted lists."""


def state_json(state: InvokerState) -> dict[str, Any]:
    """A device's placement state as JSON (sets as sorted lists)."""
    plain = {f.name: getattr(state, f.name) for f in dataclasses.fields(state)}
    for name in SETS:
        if plain[name] is not None:
            plain[name] = sorted(plain[name])
    plain["labels"] = dict(plain["labels"])
    return plain


def state_of(plain: dict[str, Any]) -> InvokerState:
    """The inverse of :func:`state_json` (unknown keys, from a newer peer, are left out)."""
    known = {f.name for f in dataclasses.fields(InvokerState)}
    values = {k: v for k, v in plain.items() if k in known}
    for name in SETS & values.keys():
        if values[name] is not None:
            values[name] = frozenset(values[name])
    return InvokerState(**values)


def action_spec(spec: RunSpec) -> ActionSpec:
    """A forwarded ``run``'s spec as the holder's invoker takes it."""
    return by_name(ActionSpec, spec)


def outcome_of(run: RunOutcome) -> Outcome:
    """What the holder's invoker answered, as a ``result`` carries it (logs included)."""
    return outcome_from(run, run.logs)


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))
