"""Wire records made from their local twins, field by field.

Why here: the pool's ``ActionSpec``/``RunOutcome`` (and the ``ProducedArtifact`` and
``GateVerdict`` an outcome carries) have the field names of this schema's ``RunSpec``/``Outcome``
(``Produced``, ``Verdict``) by design, checked by ``tests/tunnel/test_parity.py``. Both ends of
the tunnel (the device's agent) and the controllers that forward activations to each other
convert between the twins; they do it through these two functions, so the rule "copy by name"
is written once. This module imports nothing of ours: it takes any object with those fields.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, TypeVar

from .messages import Outcome, Produced, Verdict

T = TypeVar("T")


_NAMES: dict[type[Any], tuple[str, ...]] = {}
"""Each record class's field names, worked out once (the agent converts on every result)."""


def by_name(kind: type[T], value: object, **overrides: object) -> T:
    """A ``kind`` dataclass with ``value``'s fields of the same names (``overrides`` win)."""
    names = _NAMES.get(kind)
    if names is None:
        names = _NAMES[kind] = tuple(f.name for f in dataclasses.fields(kind))  # type: ignore[arg-type]
    return kind(**{n: overrides[n] if n in overrides else getattr(value, n) for n in names})


def outcome_from(run: Any, logs: Sequence[str]) -> Outcome:
    """A run's outcome as a ``result`` frame carries it, with ``logs`` (the lines not sent as
    ``logs`` chunks) and its produced artifacts and gate verdicts as their wire records."""
    return by_name(Outcome, run, logs=tuple(logs),
                   produced=tuple(by_name(Produced, item) for item in run.produced),
                   gates=tuple(by_name(Verdict, verdict) for verdict in run.gates))
