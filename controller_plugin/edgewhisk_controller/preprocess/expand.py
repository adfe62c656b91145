"""Fan-out: an unbound ``{usr}`` becomes one activation per user on record.

Why here and not in the dispatcher: which users take part is a placement question — a user
is on record when an invoker visible to the namespace names them as its owner, and takes
part only when one of the invokers can satisfy the action's hard constraints bound for that
user (typically ``policy.fn(node="{usr}_device", strict=True)``). So fan-out binds every
user's constraints in bulk (``variables.bind_users``) and places them all in one call
(``place_many``), and the dispatcher only starts the children it is handed.

Users left out are counted with the reason: the unschedulable message for that user, or why
the user's name cannot be bound into a ref.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ..placement.interface import Decision, Unschedulable
from .model import BoundAction, CompiledAction
from .variables import bind_users

PlaceMany = Callable[[Sequence[BoundAction]], Sequence[Decision]]
"""Places bound actions in one call, a decision per bound action in order."""

NO_USERS = "no user on record: no invoker visible to the namespace has an owner"


@dataclass(frozen=True)
class Child:
    """One user's activation: its bound action and the invoker chosen for it."""

    user: str
    bound: BoundAction
    invoker: str


@dataclass(frozen=True)
class FanOut:
    """The outcome of fanning an action out over the users on record."""

    children: tuple[Child, ...]
    excluded: Mapping[str, str] = field(default_factory=dict)  # user -> why left out
    users: int = 0  # users on record

    def summary(self, activation_ids: Sequence[str]) -> dict[str, Any]:
        """The ``fanout`` object of the invoke response, given each child's activation id."""
        return {
            "users": self.users,
            "activations": [{"user": c.user, "activationId": a, "invoker": c.invoker}
                            for c, a in zip(self.children, activation_ids, strict=True)],
            "excluded": {"count": len(self.excluded), "users": dict(self.excluded)},
        }

    @property
    def reason(self) -> str:
        """Why there is no child at all (empty string when there is one)."""
        if self.children:
            return ""
        if not self.users:
            return f"Cannot fan out {{usr}}: {NO_USERS}."
        return (f"Cannot fan out {{usr}}: none of the {self.users} users on record has an "
                "invoker that satisfies the action's hard constraints.")


@contextmanager
def gc_paused() -> Iterator[None]:
    """Hold Python's cyclic garbage collector for one bulk step (restored afterwards).

    Why: binding and placing 10,000 users allocates hundreds of thousands of small objects,
    and each allocation burst triggers collections that walk every tracked object — the
    placement engine's whole cluster state included. Measured with ``bench/fanout.py``
    (10,000 users on 10,100 invokers) that multiplied the fan-out time by about ten. The
    step is synchronous and bounded, and what it allocates is either kept (the bound
    actions) or freed by reference counting, so nothing piles up while it is held.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def fan_out(
    compiled: CompiledAction,
    params: Mapping[str, Any],
    users: Sequence[str],
    place_many: PlaceMany,
    *,
    site: str | None = None,
) -> FanOut:
    """Bind ``compiled`` for each of ``users`` (``{usr}``), place them all, keep the placed.

    ``users`` are the users on record (duplicates are dropped, order kept); ``params``
    binds the other variables (``UnboundVariable`` if one is missing).
    """
    on_record = list(dict.fromkeys(users))
    with gc_paused():
        bounds, invalid = bind_users(compiled, params, on_record, site=site)
        decisions = place_many(bounds) if bounds else []
    children: list[Child] = []
    excluded: dict[str, str] = dict(invalid)
    for bound, decision in zip(bounds, decisions, strict=True):
        user = bound.values["usr"]
        if isinstance(decision, Unschedulable):
            excluded[user] = decision.reason
        else:
            children.append(Child(user, bound, decision))
    return FanOut(tuple(children), excluded, len(on_record))
