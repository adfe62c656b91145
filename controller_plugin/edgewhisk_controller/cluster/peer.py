"""PeerInvoker: a device whose tunnel another controller of the cluster holds, looking to this
controller's dispatcher like any invoker.

Why the same interface: placement decides on this controller's view of every device (its own
and its peers'), and the dispatcher neither knows nor cares which controller's tunnel the
activation goes down. ``run`` sends the tunnel's ``run`` frame to the holder through Redis
(``routing.py``), which runs it on its ``RemoteInvoker`` and answers with the ``result`` frame;
the record is written here, by the controller that accepted the invoke, as for any invoker.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from edgewhisk_runtime.containers import ActionSpec, RunOutcome
from edgewhisk_tunnel import Consumed, Produce

from ..artifacts.exceptions import StagingFailed
from ..invokers.interface import Invoker
from ..placement.interface import InvokerState
from ..stores import Doc
from ..tunnel.exceptions import InvokerLost
from ..tunnel.patience import result_patience_s
from ..tunnel.twins import run_frame


class Forwarder(Protocol):
    """What a peer invoker sends its activations through (the cluster's routing)."""

    async def forward(self, peer: PeerInvoker, activation_id: str, frame: str,
                      patience_s: float, memory_mb: int, queue: int = 0) -> RunOutcome: ...

    async def preload(self, peer: PeerInvoker, doc: Doc) -> str: ...


class PeerInvoker(Invoker):
    outlives_controller = True  # the device runs on when this controller dies: at most once
    forwarded = True  # its holder acts on what it reports (standing preloads)

    def __init__(self, forwarder: Forwarder, holder: str, state: InvokerState,
                 queue: Callable[[str, int], int] = lambda id, mb: 0) -> None:
        """``queue(id, memory_mb)``: the waiting slots a run placed here may claim (non-zero
        when this controller's placement queued it knowingly on the full device,
        ``claims.py``)."""
        self.id = state.id
        self.queue = queue
        self.holder = holder  # the controller holding its tunnel
        self.forwarder = forwarder
        self.published = state  # what the holder last published
        self.gone = False

    def state(self) -> InvokerState:
        return self.published

    async def run(self, spec: ActionSpec, value: Any, fields: Mapping[str, str], *,
                  consumes: Sequence[Consumed] = (),
                  produces: Sequence[Produce] = ()) -> RunOutcome:
        activation_id = fields["activation_id"]
        if self.gone:
            raise InvokerLost(self.id, f"its controller {self.holder} is gone",
                              maybe_started=False)
        frame = run_frame(self.id, spec, value, fields, consumes, produces)
        patience_s = result_patience_s(spec.timeout_ms)
        return await self.forwarder.forward(self, activation_id, frame, patience_s,
                                            spec.memory_mb, self.queue(self.id, spec.memory_mb))

    async def preload(self, doc: Doc) -> str:
        """Asked of the controller holding the device's tunnel, whose hub pushes it."""
        if self.gone:
            raise StagingFailed(f"invoker {self.id!r}: its controller {self.holder} is gone")
        return await self.forwarder.preload(self, doc)

    async def close(self) -> None:
        self.gone = True

    def status(self) -> dict[str, Any]:
        """What the invokers listing shows of it, in the fields a local invoker's status has
        (``where: peer``, ``controller``: the one holding its tunnel)."""
        s = self.published
        return {
            "id": self.id, "where": "peer", "controller": self.holder, "online": not self.gone,
            "connected": False, "healthy": s.healthy and not self.gone, "draining": False,
            "role": s.role, "owner": s.owner, "site": s.site, "labels": dict(s.labels),
            "capabilities": sorted(s.capabilities), "networks": sorted(s.networks),
            "kinds": sorted(s.kinds), "memory_mb": s.memory_mb,
            "free_memory_mb": s.free_memory_mb, "in_flight": s.in_flight, "containers": 0,
            "rtt_ms": None, "last_heartbeat_s": 0.0, "context": {}, "version": None,
            "cached": sorted(s.cached), "store": None,
        }
