"""What the dispatcher needs of an invoker: run one activation, report a state snapshot.

Why so small: a local container pool and an edge device behind a tunnel must look the same to
the dispatcher; everything else (health, warm containers) is reported through ``state()``.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..placement.interface import InvokerState

if TYPE_CHECKING:
    from edgewhisk_runtime.containers import ActionSpec, RunOutcome
    from edgewhisk_tunnel import Consumed, Produce


class Invoker(abc.ABC):
    """One place activations run."""

    id: str

    @abc.abstractmethod
    def state(self) -> InvokerState:
        """A snapshot for placement; cheap, no I/O."""

    @abc.abstractmethod
    async def run(self, spec: ActionSpec, value: Any, fields: Mapping[str, str], *,
                  consumes: Sequence[Consumed] = (),
                  produces: Sequence[Produce] = ()) -> RunOutcome:
        """Run ``value`` through the action ``spec``; ``fields`` become the ``__OW_*`` env.

        ``consumes`` (registry versions the controller resolved) are staged where the run
        reads them; ``produces`` (versions the controller allocated) are kept after it, and
        reported in ``RunOutcome.produced``. Action failures are outcomes; broken
        infrastructure raises (a whisk internal error; ``StagingFailed`` for artifacts).
        """

    @abc.abstractmethod
    async def close(self) -> None:
        """Stop taking activations and release resources; idempotent."""
