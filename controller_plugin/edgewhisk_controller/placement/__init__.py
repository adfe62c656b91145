"""Placement: which invoker runs an activation.

``interface`` holds the contract (``PlacementRequest``, ``InvokerState``, ``Decision``,
``Placement``); ``least_loaded`` is the simple policy the controller starts with. The
placement-plugin issue replaces it with a vectorised engine behind the same interface.
"""

from .interface import Decision, InvokerState, Placement, PlacementRequest, Unschedulable
from .least_loaded import LeastLoaded

__all__ = [
    "Decision",
    "InvokerState",
    "LeastLoaded",
    "Placement",
    "PlacementRequest",
    "Unschedulable",
]
