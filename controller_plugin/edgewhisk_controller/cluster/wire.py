"""What controllers tell each other through Redis, as text: a device's placement state, a
forwarded activation (the tunnel's own ``run`` frame) and its answer (a ``result`` frame).

Why the tunnel's frames: a forwarded activation goes down the holder's tunnel unchanged, so the
schema that checks every frame a device sees (``edgewhisk_tunnel.messages``) checks these too,
and an activation that could not go down a tunnel (over ``MAX_FRAME_BYTES``) is refused here
with the same ``NotDeliverable``. The twins' field names are the same by design (checked by
``tests/tunnel/test_parity.py``), so the conversions below copy fields by name.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, TypeVar

from edgewhisk_runtime.containers import ActionSpec, RunOutcome
from edgewhisk_tunnel import Outcome, Produced, RunSpec, Verdict

from ..placement.interface import InvokerState

SETS = frozenset(f.name for f in dataclasses.fields(InvokerState)
                 if "frozenset" in str(f.type))
"""The state's set columns, written as sorted lists."""
T = TypeVar("T")


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


def _copy(kind: type[T], value: Any, **overrides: Any) -> T:
    names = [f.name for f in dataclasses.fields(kind)]  # type: ignore[arg-type]
    return kind(**{n: overrides[n] if n in overrides else getattr(value, n) for n in names})


def action_spec(spec: RunSpec) -> ActionSpec:
    """A forwarded ``run``'s spec as the holder's invoker takes it."""
    return _copy(ActionSpec, spec)


def outcome_of(run: RunOutcome) -> Outcome:
    """What the holder's invoker answered, as a ``result`` carries it (logs included)."""
    return _copy(Outcome, run, logs=tuple(run.logs),
                 produced=tuple(_copy(Produced, p) for p in run.produced),
                 gates=tuple(_copy(Verdict, v) for v in run.gates))


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))
