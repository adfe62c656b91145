"""Invoking actions: the Dispatcher and what it runs.

``dispatcher.Dispatcher`` is the API's one entry point (``invoke``, ``fire``, ``close``), its
one activation's run in ``running``, placement in ``placing``, records in ``records``;
``journal`` keeps what was acknowledged on disk, ``recovery`` finishes it after a crash;
``conductor`` runs conductor actions per the conductor protocol; ``triggers`` fires triggers
through their active rules; ``spec`` makes an action version the container pool's
``ActionSpec``; ``job`` holds the values passed between them; errors are in ``exceptions``.
How stored documents are read is ``schema/stored.py``'s.
"""

from .dispatcher import Dispatcher, Invocation
from .exceptions import DispatcherClosed, InvokeError
from .recovery import Recovered, recover

__all__ = ["Dispatcher", "DispatcherClosed", "Invocation", "InvokeError", "Recovered", "recover"]
