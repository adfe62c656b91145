"""What the controller needs of an invoker: run an activation, report a state, preload.

Why so small: a local container pool and an edge device behind a tunnel must look the same to
the dispatcher; everything else (health, warm containers) is reported through ``state()``.
Preloading is the invoker's own business too (a local one stages into its node store, an edge
device has the hub push to it), so ``artifacts/preload.py`` needs no knowledge of the kinds.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ..placement.interface import InvokerState
from ..stores import Doc

if TYPE_CHECKING:
    from edgewhisk_runtime.containers import ActionSpec, RunOutcome
    from edgewhisk_tunnel import Consumed, Produce


class Invoker(abc.ABC):
    """One place activations run."""

    id: str
    context: Mapping[str, Any] = MappingProxyType({})
    """What it last reported of its surroundings (an edge device's battery, charging)."""
    outlives_controller: bool = False
    """Whether what it runs goes on when the controller dies (an edge device): the
    dispatcher then records where an activation went before handing it over."""
    forwarded: bool = False
    """Whether another controller holds it (a cluster peer's device, ``cluster/peer.py``):
    what it reports reaches this controller second-hand, and its holder acts on it."""

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
    async def preload(self, doc: Doc) -> str:
        """Put a registry version into its store ahead of need: ``cached`` when it is there
        already, else ``preloaded`` (``StagingFailed`` and kin say why not)."""

    def status(self) -> dict[str, Any]:
        """What the invokers listing shows of it (each kind says more)."""
        return {"id": self.id, "healthy": self.state().healthy}

    @abc.abstractmethod
    async def close(self) -> None:
        """Stop taking activations and release resources; idempotent."""
