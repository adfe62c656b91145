"""Placement: which invoker runs an activation.

``interface`` holds the contract (``PlacementRequest``, ``InvokerState``, ``Decision``,
``Unschedulable``); ``constraints`` the ``Constraint`` value and plugin names shared with the
preprocessor; ``state`` the columnar cluster state; ``plugin`` the plugin contract and
``plugins/`` one module per plugin, mapped by name in ``registry``; ``framework`` the
``Engine`` that runs them (``entry`` its cache entries, ``fanout`` a fan-out's bindings
decided together); ``config`` the weights and defaults (``--placement-config``).
"""

from .config import PlacementConfig, load_config
from .constraints import Constraint
from .framework import Engine
from .interface import Decision, InvokerState, Placement, PlacementRequest, Unschedulable

__all__ = [
    "Constraint",
    "Decision",
    "Engine",
    "InvokerState",
    "Placement",
    "PlacementConfig",
    "PlacementRequest",
    "Unschedulable",
    "load_config",
]
