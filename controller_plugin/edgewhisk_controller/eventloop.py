"""The controller's event loop: ``edgewhisk_runtime.eventloop``, shared with the edge agent."""

from edgewhisk_runtime.eventloop import LOOPS, add_argument, factory, run

__all__ = ["LOOPS", "add_argument", "factory", "run"]
