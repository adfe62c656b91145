"""The function preprocessor: annotations compiled into placement constraints, then bound.

``compiler`` maps an action version's ``edgewhisk`` annotation to hard and soft
``Constraint`` values once (cached); ``variables`` binds ``{variables}`` per invocation;
``fanout`` turns an unbound ``{usr}`` into one bound action per user on record and places
them in bulk. The engine (``edgewhisk_controller.placement``) consumes ``BoundAction``.
"""

from .compiler import ArtifactNeed, CompiledAction, Compiler, compile_action
from .exceptions import PreprocessError, UnboundVariable
from .expand import Child, FanOut, fan_out
from .variables import FANOUT_VARIABLE, BoundAction, bind, bind_users, unbound
from .weights import DEFAULT_WEIGHT, Weights, default_weights, weights_of

__all__ = [
    "DEFAULT_WEIGHT",
    "FANOUT_VARIABLE",
    "ArtifactNeed",
    "BoundAction",
    "Child",
    "CompiledAction",
    "Compiler",
    "FanOut",
    "PreprocessError",
    "UnboundVariable",
    "Weights",
    "bind",
    "bind_users",
    "compile_action",
    "default_weights",
    "fan_out",
    "unbound",
    "weights_of",
]
