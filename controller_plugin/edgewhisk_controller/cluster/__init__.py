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

from collections.abc import Callable, Iterable
from urllib.parse import urlsplit, urlunsplit

from ..invokers.interface import Invoker
from ..invokers.registry import InvokerRegistry
from ..placement.interface import PlacementEngine
from .changes import Follower
from .exceptions import ClusterUnavailable
from .node import NODE, ClusterNode
from .peer import PeerInvoker

__all__ = ["NODE", "ClusterNode", "ClusterUnavailable", "Follower", "PeerInvoker", "open_node"]


def open_node(url: str, me: str, registry: InvokerRegistry, engine: PlacementEngine,
              devices: Callable[[], Iterable[Invoker]]) -> ClusterNode:
    """A node on the Redis at ``url`` (redis-py's asyncio client, imported only here: a
    controller without ``--cluster-redis`` never needs it)."""
    import redis.asyncio

    parts = urlsplit(url)
    where = urlunsplit((parts.scheme, f"{parts.hostname}:{parts.port or 6379}", "", "", ""))
    client = redis.asyncio.from_url(url, decode_responses=True)
    return ClusterNode(me, client, registry, engine, devices, where=where)
