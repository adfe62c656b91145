"""Why an activation sent through the tunnel did not come back.

Hierarchy::

    TunnelError                 an activation on a remote invoker failed for the platform
    ├── InvokerLost             the invoker went offline (no heartbeat), was revoked, or the
    │                           controller shut down while the activation was in flight;
    │                           the dispatcher re-dispatches it when the action is idempotent
    ├── RemoteFailure           the device reported that its own infrastructure failed
    └── NotDeliverable          the activation cannot go through the tunnel (frame too large)

All are infrastructure failures (a whisk internal error record naming the invoker), never an
application's; ``str(exc)`` is the message the activation record carries.
"""

from __future__ import annotations


class TunnelError(Exception):
    def __init__(self, invoker_id: str, message: str) -> None:
        super().__init__(message)
        self.invoker_id = invoker_id
        self.message = message


class InvokerLost(TunnelError):
    """``maybe_started`` False: the activation never left the controller, so running it
    elsewhere cannot run it twice, idempotent or not."""

    def __init__(self, invoker_id: str, why: str, *, maybe_started: bool = True) -> None:
        super().__init__(invoker_id, f"The invoker {invoker_id!r} was lost ({why}) while "
                                     "running the activation.")
        self.why = why
        self.maybe_started = maybe_started


class RemoteFailure(TunnelError):
    def __init__(self, invoker_id: str, error: str) -> None:
        super().__init__(invoker_id, f"The invoker {invoker_id!r} failed to run the "
                                     f"activation: {error}")


class NotDeliverable(TunnelError):
    pass
