"""LeastLoaded: the controller's first placement policy.

Among the invokers that pass every hard constraint (healthy, serving the namespace, supporting
the kind, big enough for the action's memory), pick the one with the fewest activations in
flight, then the most free memory, then the smallest id, so that the choice is deterministic.
Memory is checked against an invoker's total, not its free memory: a busy pool queues the
activation or evicts idle containers, which is better than refusing it.
"""

from __future__ import annotations

from collections.abc import Sequence

from .interface import (
    Decision,
    InvokerState,
    PlacementRequest,
    hard_constraint_failed,
    unschedulable,
)


class LeastLoaded:
    NAME = "least-loaded"

    def choose(self, request: PlacementRequest, invokers: Sequence[InvokerState]) -> Decision:
        fitting = [i for i in invokers if hard_constraint_failed(request, i) is None]
        if not fitting:
            return unschedulable(request, invokers)
        best = min(fitting, key=lambda i: (i.in_flight, -i.free_memory_mb, i.id))
        return best.id
