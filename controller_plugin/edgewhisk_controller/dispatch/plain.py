"""Which activations skip the artifact and gate steps: those of a plain action.

Why: an activation goes through a dozen artifact and gate steps (plan, rekey, refusal, check,
allocate, journal, judge, keep, settle, the ``gates`` annotation), and for an action with no
consumes, no produces and no gates each of them reads the annotation again only to find it has
nothing to do, on every invoke. Whether the stored revision declares gates or produces is
decided once per revision (``schema/revisions.py``); whether the activation consumes anything
is its bound action's (compiled once per revision and binding). Everything else an activation does
(placement, its explanation, the re-dispatch of a lost edge run, deferral, the record) is the
same for plain and other actions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..schema.revisions import PerRevision
from . import artifacts, gating

if TYPE_CHECKING:
    from ..preprocess import BoundAction


def _declares_nothing(action: dict[str, Any]) -> bool:
    return not gating.gates(action) and not artifacts.produces_of(action)


declares_nothing = PerRevision(_declares_nothing)
"""No gates and no produces in the stored revision's annotation (then the ``gates``
annotation step has nothing to add to any of its records)."""


def is_plain(action: dict[str, Any], bound: BoundAction) -> bool:
    """No consumes, no produces, no gates: the artifact and gate steps have nothing to do."""
    return not bound.artifacts and declares_nothing(action)
