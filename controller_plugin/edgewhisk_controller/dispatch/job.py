"""What travels through the dispatcher: one activation to run, composition counters, and the
Engine protocol the conductor loop and trigger firing use to start activations.

Why dataclasses: the dispatcher, the conductor loop and trigger firing hand these to each other,
so their fields are named once here instead of being loose keyword lists.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ..schema.activation import ActivationRecord
from ..stores import Doc

if TYPE_CHECKING:
    from ..preprocess import BoundAction
    from .resolve import Resolved

COMPONENT_WAIT_EXTRA_S = 60.0
"""Upstream waits for a component of a sequence or composition its timeout plus one minute."""
COMPONENT_LIMIT = 50
"""Upstream's ``actionSequenceLimit``: component activations per composition (and 2n+1
conductor runs)."""


@dataclass(frozen=True)
class Job:
    """One activation to run: ``payload`` is the request's parameters (before merging)."""

    ns: str
    action: Doc  # the stored action document
    payload: dict[str, Any]
    subject: str
    received_ms: int  # when the controller took the request (waitTime starts here)
    api_key: str | None = None
    cause: str | None = None
    in_composition: bool = False  # a component or conductor run of a composition
    bound: BoundAction | None = None  # constraints bound at invoke; None: bind when placing
    invoker: str | None = None  # already placed (a fan-out child): run there
    binding: str | None = None  # ``ns/binding`` the action was reached through (its records say)


@dataclass
class Accounting:
    """Activations a composition (with its nested compositions) has run so far."""

    components: int = 0
    conductors: int = 0
    limit: int = COMPONENT_LIMIT


class Engine(Protocol):
    """What the conductor loop, sequences and trigger firing need of the dispatcher."""

    def start(
        self, job: Job, *, accounting: Accounting | None = None, primitive: bool = False
    ) -> tuple[str, asyncio.Task[ActivationRecord]]: ...

    async def resolve(self, ns: str, fqn: str) -> Resolved: ...

    async def start_accepted(self, job: Job) -> tuple[str, asyncio.Task[ActivationRecord]]: ...

    async def record(self, rec: ActivationRecord) -> ActivationRecord: ...
