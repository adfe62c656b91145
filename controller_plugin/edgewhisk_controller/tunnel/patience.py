"""How long a run sent to an edge invoker is waited for, by whoever waits: this controller
(``remote.RemoteInvoker.run``), a peer it forwarded the run to (``cluster/peer.py``) or a
controller taking the work of a dead one over (``dispatch/recovery.py``), and how a result
sent before a restart or a takeover is waited for with that patience (:data:`Reclaim`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from edgewhisk_runtime.containers import RunOutcome
    from edgewhisk_tunnel import Produce

RESULT_GRACE_S = 300.0
"""Beyond the action's time limit, how long a live device may take to answer a ``run`` (it
may queue for memory, pull an image, cold-start) before the activation counts as lost."""


def result_patience_s(timeout_ms: int) -> float:
    """The run's time limit ``timeout_ms`` plus ``RESULT_GRACE_S``."""
    return timeout_ms / 1000 + RESULT_GRACE_S


Reclaim = Callable[[str, str, int, int, "tuple[Produce, ...]", float],
                   "asyncio.Future[RunOutcome]"]
"""``(invoker id, activation id, memory MB, logs bytes, produces, patience s)`` -> the outcome
the agent delivers (``tunnel.TunnelHub.reclaim``, or in a cluster the answer of the device's
holder, waited for up to the patience: the run's time limit plus the result grace);
``InvokerLost`` when it comes back without it or not at all. What start-up recovery
(``dispatch/recovery.py``) is given, and what a cluster's takeover gives it
(``ClusterNode.reclaimer``)."""
