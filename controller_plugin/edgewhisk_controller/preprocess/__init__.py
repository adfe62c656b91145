"""The function preprocessor: annotations compiled into placement constraints, then bound.

``model`` holds the values (``ArtifactNeed``, ``CompiledAction``, ``BoundAction``);
``compiler`` maps an action version's ``edgewhisk`` annotation to hard and soft
``Constraint`` values once (cached); ``variables`` binds ``{variables}`` per invocation
(``bind``); ``expand`` turns an unbound ``{usr}`` into one bound action per user on record and
places them in bulk. The engine (``edgewhisk_controller.placement``) places ``BoundAction``s.
"""

from .compiler import Compiler, compile_action
from .exceptions import PreprocessError, UnboundVariable
from .expand import Child, FanOut, fan_out
from .model import ArtifactNeed, BoundAction, CompiledAction
from .variables import FANOUT_VARIABLE, asked_by, bind, bind_users, unbound
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
    "asked_by",
    "bind",
    "bind_users",
    "compile_action",
    "default_weights",
    "fan_out",
    "unbound",
    "weights_of",
]
