"""Several controllers as one: a device's tunnel held by any of them reaches every one.

Controllers sharing one CouchDB (``--db``) also share one Redis (``--cluster-redis``): each
publishes the devices whose tunnels it holds, follows the others' as peer invokers in its
registry and placement engine (``membership.py``, ``peer.py``), and routes an activation placed
on a peer's device to that controller over Redis Streams, which runs it down its tunnel and
answers (``routing.py``); ``node.py`` runs it all for the controller's life, ``open_node``
opens it. Caches follow the others' writes through CouchDB's changes feed (``changes.py``).
Records are written by the controller that accepted the invoke, as for any invoker.
"""

from __future__ import annotations

from .changes import Follower
from .exceptions import ClusterUnavailable
from .join import Joined, join, joining, open_node
from .node import NODE, ClusterNode
from .peer import PeerInvoker

__all__ = ["NODE", "ClusterNode", "ClusterUnavailable", "Follower", "Joined", "PeerInvoker",
           "join", "joining", "open_node"]
