"""How long a run sent to an edge invoker is waited for, by whoever waits: this controller
(``remote.RemoteInvoker.run``), a peer it forwarded the run to (``cluster/peer.py``) or a
controller taking the work of a dead one over (``dispatch/recovery.py``)."""

from __future__ import annotations

RESULT_GRACE_S = 300.0
"""Beyond the action's time limit, how long a live device may take to answer a ``run`` (it
may queue for memory, pull an image, cold-start) before the activation counts as lost."""


def result_patience_s(timeout_ms: int) -> float:
    """The run's time limit ``timeout_ms`` plus ``RESULT_GRACE_S``."""
    return timeout_ms / 1000 + RESULT_GRACE_S
