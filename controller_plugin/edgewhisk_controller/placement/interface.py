"""The placement contract: a request, the invokers' states, a decision, and the engine.

Why a value for "nowhere to run": an unschedulable activation is an expected outcome the
dispatcher records (a whisk internal error activation carrying the reason), not a bug, so it
is a value with a Kubernetes-style explanation of which hard constraint excluded how many
invokers ("0/3 invokers are available: 1 unhealthy, 2 without capability gpu.").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .config import PlacementConfig
from .constraints import Bound


@dataclass(frozen=True)
class PlacementRequest:
    """What placement needs to know about one activation.

    ``site`` is where the caller is (``X-Edgewhisk-Site``); None means the controller's own
    site (``PlacementConfig.site``). ``version`` makes ``key`` name one action version: warm
    containers and observed run times are tracked per ``key``.
    """

    action: str  # "ns/name"
    kind: str  # exec kind: "python:3", "blackbox", "nodejs:default"
    memory_mb: int  # the action's memory limit
    namespace: str  # the namespace the activation runs in
    annotation: Mapping[str, Any] | None = None  # the action's edgewhisk annotation, if any
    version: str = ""
    site: str | None = None

    @property
    def key(self) -> str:
        """``ns/name@version`` (just ``ns/name`` without a version)."""
        return f"{self.action}@{self.version}" if self.version else self.action


@dataclass(frozen=True)
class InvokerState:
    """A snapshot of one invoker, as the registry reports it."""

    id: str
    kinds: frozenset[str]
    memory_mb: int  # total memory of its container pool
    free_memory_mb: int  # memory not held by containers right now
    in_flight: int  # activations running on it now
    healthy: bool = True
    namespaces: frozenset[str] | None = None  # namespaces it serves; None = all
    role: str = "cloud"  # "cloud" | "edge"
    owner: str | None = None  # the user owning an edge device; None for shared invokers
    site: str = ""  # where it is ("" = the controller's site); keys the latency matrix
    labels: Mapping[str, str] = field(default_factory=dict)
    capabilities: frozenset[str] = frozenset()
    networks: frozenset[str] = frozenset()
    bandwidth_mbps: float = 1000.0  # to fetch artifacts it does not hold
    cached: frozenset[str] = frozenset()  # artifact keys "ns/name@version" it holds
    cpus: float = 1.0  # activations it runs in parallel, for queue-time estimates
    # its live context, as its agent last reported it (``policy.context``; ``state.py``):
    battery: float | None = None  # 0..1; None: no battery (mains powered)
    charging: bool | None = None  # None: not known (mains powered when battery is None too)
    idle: bool | None = None  # None: the agent cannot tell (not known to be idle)
    metered: bool | None = None  # None: not reported (an unmetered network)

    @property
    def on_power(self) -> bool:
        """Charging, or mains powered (neither a battery nor charging reported): what
        ``charging`` means everywhere (the ``DeviceState`` plugin is its vectorised form)."""
        return self.charging is True or (self.battery is None and self.charging is None)


@dataclass(frozen=True)
class Unschedulable:
    """No invoker can take the activation; ``excluded`` counts invokers per constraint.

    Each invoker is counted once, under the first hard constraint it fails (in the order the
    engine checks them). ``plugins`` holds the same counts keyed by plugin name, for
    programs; ``excluded`` keys are the phrases of the message.
    """

    total: int
    excluded: Mapping[str, int] = field(default_factory=dict)
    detail: Mapping[str, str] = field(default_factory=dict)  # constraint -> wanted value
    plugins: Mapping[str, int] = field(default_factory=dict)  # plugin name -> excluded

    @property
    def reason(self) -> str:
        if self.total == 0:
            return "0/0 invokers are available: no invoker is registered."
        parts = []
        for constraint, count in self.excluded.items():
            wanted = self.detail.get(constraint)
            parts.append(f"{count} {constraint}" + (f" {wanted}" if wanted else ""))
        return f"0/{self.total} invokers are available: {', '.join(parts)}."


Decision = str | Unschedulable
"""The chosen invoker's id, or why there is none."""

Listener = Callable[[str, frozenset[str]], None]
"""``(invoker id, the InvokerState fields that may have changed)``, called after the engine
applied a registration (every field: ``REGISTERED``), a heartbeat (the fields it carried) or a
completion (capacity). Who listens: pending activations (``dispatch/pending.py``), re-tried
on just the changes that may unblock them."""
REGISTERED: frozenset[str] = frozenset({"*"})
"""The fields a registration changes: all of them (a new row)."""
CAPACITY: frozenset[str] = frozenset({"free_memory_mb", "in_flight", "backlog_ms"})
"""The fields an activation's end frees."""


class PlacementEngine(Protocol):
    """The placement contract: what the controller's components use of the engine.

    ``framework.Engine`` is the implementation; callers (the dispatcher, fan-out, the tunnel
    hub, artifact planning, the app wiring local invokers) are typed against this, so each
    call is checked where components meet. Its state follows events, so nothing takes a
    snapshot per activation:

    - invokers: ``register`` / ``unregister``, ``heartbeat`` (what an invoker reports:
      health, free memory, networks, cached artifacts, ``warm`` action keys ...; an unknown
      id is ignored), ``forget_warm`` (its pool evicted a warm container), ``observe_rtt``
      (the tunnel's smoothed round trip, ``tunnel.health.RoundTrip``);
    - activations: ``placed`` right after the decision, ``completed`` when it ended;
      ``free_memory``: what the view holds free on one invoker (a claim on another
      controller's device asks by it whether this engine decided to queue there);
    - decisions: ``place`` one bound action, ``place_many`` a fan-out's bindings; ``why``
      a decision just taken (its explanation for the record);
    - knowledge: ``owners`` (users on record for a namespace), ``artifact_sizes``;
    - ``listen``: be told which invoker changed what, after the engine applied it.
    """

    @property
    def config(self) -> PlacementConfig: ...

    def register(self, state: InvokerState) -> None: ...

    def unregister(self, id: str) -> None: ...

    def heartbeat(self, id: str, **changes: Any) -> None: ...

    def forget_warm(self, id: str, action_key: str) -> None: ...

    def observe_rtt(self, id: str, rtt_ms: float) -> None: ...

    def placed(self, id: str, memory_mb: int, action_key: str) -> None: ...

    def free_memory(self, id: str) -> float | None: ...

    def completed(self, id: str, memory_mb: int, action_key: str, run_ms: float | None,
                  warm: bool) -> None: ...

    def place(self, request: PlacementRequest, bound: Bound = ...) -> Decision: ...

    def place_many(self, request: PlacementRequest, bounds: Iterable[Bound], *,
                   commit: bool = False) -> list[Decision]: ...

    def why(self, request: PlacementRequest, chosen: str,
            bound: Bound = ...) -> dict[str, Any] | None: ...

    def owners(self, namespace: str) -> list[str]: ...

    def artifact_sizes(self, sizes: Mapping[str, int]) -> None: ...

    def listen(self, listener: Listener) -> None: ...
