"""The placement contract: a request, the invokers' states, and a decision.

Why a value for "nowhere to run": an unschedulable activation is an expected outcome the
dispatcher records (a whisk internal error activation carrying the reason), not a bug, so it
is a value with a Kubernetes-style explanation of which hard constraint excluded how many
invokers ("0/3 invokers are available: 1 unhealthy, 2 without kind 'python:3'.").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

# Hard constraints, in the order they are checked; an invoker is counted under the first
# one it fails. The values are the phrases used in ``Unschedulable.reason``.
UNHEALTHY = "unhealthy"
NAMESPACE_NOT_ALLOWED = "not serving namespace"
KIND_NOT_SUPPORTED = "without kind"
INSUFFICIENT_MEMORY = "with too little memory"


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


class Placement(Protocol):
    """A placement policy: choose one invoker among ``invokers`` for ``request``."""

    def choose(self, request: PlacementRequest, invokers: Sequence[InvokerState]) -> Decision: ...


def hard_constraint_failed(request: PlacementRequest, invoker: InvokerState) -> str | None:
    """The first hard constraint ``invoker`` fails for ``request``, or None if it fits."""
    if not invoker.healthy:
        return UNHEALTHY
    if invoker.namespaces is not None and request.namespace not in invoker.namespaces:
        return NAMESPACE_NOT_ALLOWED
    if request.kind not in invoker.kinds:
        return KIND_NOT_SUPPORTED
    if invoker.memory_mb < request.memory_mb:
        return INSUFFICIENT_MEMORY
    return None


def unschedulable(request: PlacementRequest, invokers: Sequence[InvokerState]) -> Unschedulable:
    """Explain why none of ``invokers`` fits ``request`` (call when none does)."""
    excluded: dict[str, int] = {}
    for invoker in invokers:
        failed = hard_constraint_failed(request, invoker)
        if failed is not None:
            excluded[failed] = excluded.get(failed, 0) + 1
    detail = {
        NAMESPACE_NOT_ALLOWED: repr(request.namespace),
        KIND_NOT_SUPPORTED: repr(request.kind),
        INSUFFICIENT_MEMORY: f"(needs {request.memory_mb} MB)",
    }
    return Unschedulable(len(invokers), excluded, {k: detail[k] for k in excluded if k in detail})
