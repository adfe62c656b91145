"""Invoking actions: the Dispatcher and what it runs.

``dispatcher.Dispatcher`` is the API's one entry point (``invoke``, ``fire``, ``close``);
``conductor`` runs conductor actions per the conductor protocol; ``triggers`` fires triggers
through their active rules; ``entities`` reads the stored documents; ``job`` holds the values
passed between them; errors are in ``exceptions``.
"""

from .dispatcher import Dispatcher, Invocation
from .exceptions import CorruptedAction, DispatcherClosed, InvokeError

__all__ = ["CorruptedAction", "Dispatcher", "DispatcherClosed", "Invocation", "InvokeError"]
