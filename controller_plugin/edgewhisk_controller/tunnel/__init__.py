"""The controller's side of the edge-invoker tunnel (issue 5).

``endpoint`` is the WebSocket route, ``session`` one connection (its reader, heartbeats,
close), ``remote`` the ``RemoteInvoker`` the dispatcher runs activations on, ``health`` the
offline timer and round-trip time, ``hub`` the registry/engine bookkeeping of every device,
``tokens`` the device tokens, ``twins`` the conversions between the messages and the
controller's values. The message schema is ``edgewhisk_tunnel`` (shared with the agent, which
must not import the controller).
"""

from .endpoint import ROUTES
from .exceptions import InvokerLost, NotDeliverable, RemoteFailure, TunnelError
from .hub import OFFLINE_AFTER_S, TUNNEL, TunnelHub
from .remote import RemoteInvoker
from .tokens import DeviceToken, Tokens

__all__ = [
    "OFFLINE_AFTER_S",
    "ROUTES",
    "TUNNEL",
    "DeviceToken",
    "InvokerLost",
    "NotDeliverable",
    "RemoteFailure",
    "RemoteInvoker",
    "Tokens",
    "TunnelError",
    "TunnelHub",
]
