"""The controller's event loop: ``edgewhisk_runtime.eventloop``, shared with the edge agent."""

from edgewhisk_runtime.eventloop import LOOPS, factory, run

__all__ = ["LOOPS", "factory", "run"]
