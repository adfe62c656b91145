"""The invokers the controller knows, and how it talks to them.

``interface.Invoker`` is what the dispatcher needs of one invoker (run an activation, report its
state); ``local.LocalInvoker`` runs activations in this process's container pool;
``registry.InvokerRegistry`` keeps them by id. Edge invokers (a later issue) register through
the tunnel behind the same interface.
"""

from .interface import Invoker
from .local import LocalInvoker
from .registry import InvokerRegistry

__all__ = ["Invoker", "InvokerRegistry", "LocalInvoker"]
