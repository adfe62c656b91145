"""Placement: which invoker runs an activation.

``interface`` holds the contract (``PlacementRequest``, ``InvokerState``, ``Decision``,
``Unschedulable``, and ``PlacementEngine``: what the rest of the controller uses of the
engine); ``constraints`` the vocabulary shared with the preprocessor (plugin names, each
plugin's typed ``Args``, ``Constraint``, ``Bound``, the ``always`` constraints); ``state`` the
columnar cluster state; ``plugin`` the plugin contract and ``plugins/`` one module per plugin
(mapped by name in ``plugins.PLUGINS``); ``framework`` the ``Engine`` that decides, ``cache``
its per-action entries (``entry`` their shape), ``together`` a fan-out's bindings decided
together; ``config`` the weights and defaults (``--placement-config``).
"""

from .config import PlacementConfig, load_config
from .constraints import Bound, Constraint, Constraints
from .framework import Engine
from .interface import Decision, InvokerState, PlacementEngine, PlacementRequest, Unschedulable

__all__ = [
    "Bound",
    "Constraint",
    "Constraints",
    "Decision",
    "Engine",
    "InvokerState",
    "PlacementConfig",
    "PlacementEngine",
    "PlacementRequest",
    "Unschedulable",
    "load_config",
]
