"""Joining the cluster at start: the node, the changes feed, the takeover, in one place.

Why here and not in ``app.py``: what a clustered controller wires (the hub's hook for arriving
devices, the caches the feed keeps current, which accepted documents its own recovery may
finish) is one concern; the application only hands over its parts and the recovery.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..artifacts.gates import GATE_STATES, GateKeeper
from ..artifacts.registry import ARTIFACTS, ArtifactRegistry
from ..artifacts.standing import POLICIES, StandingPreloads
from ..auth import SUBJECTS, Authenticator
from ..invokers.interface import Invoker
from ..invokers.registry import InvokerRegistry
from ..placement.interface import PlacementEngine
from ..schema.package import COLLECTION as PACKAGES
from ..schema.stored import ACTIONS
from ..stores import Doc
from ..stores.couchdb import CouchDBStore
from ..tunnel.hub import TunnelHub
from ..tunnel.patience import Reclaim
from ..tunnel.tokens import COLLECTION as TOKENS
from . import keys
from .changes import Follower, Handler
from .decisions import RedisDecisions
from .node import ClusterNode

CACHED = [ACTIONS, PACKAGES]
"""Read by every invoke (``dispatch/resolve.py``), seldom written: answered from the store's
read cache, which the feed keeps current (``stores/readcache.py``)."""

Recover = Callable[[Callable[[Doc], bool], Reclaim, Callable[[str], bool]],
                   Awaitable[object]]
"""Finish the accepted documents a predicate picks, waiting for results through a reclaim
for the invokers a second predicate picks (``dispatch.recover``: ``owned``, ``reclaim``,
``reclaimable``)."""


@dataclass(frozen=True)
class Joined:
    node: ClusterNode
    owned: Callable[[Doc], bool]
    """Which accepted documents this controller's start-up recovery finishes: its own (and
    those of a run before the cluster), unless another controller took them over while it was
    down."""
    leave: Callable[[], Awaitable[None]]


def owned_by(owner: str, upto: int | None, doc: Doc) -> bool:
    """Whether ``doc`` is one of ``owner``'s incarnation ``upto`` or before (None: any): a
    takeover's (``takeover.py``); those its incarnation started since accepted are its own."""
    return doc.get("owner") == owner and (upto is None or doc.get("incarnation", 0) <= upto)


async def join(node: ClusterNode, *, store: Any, hub: TunnelHub, artifacts: ArtifactRegistry,
               authenticator: Authenticator, gates: GateKeeper, recover: Recover,
               standing: StandingPreloads | None = None,
               follow: Mapping[str, Handler] | None = None, cache: bool = True) -> Joined:
    """Start ``node`` with the feed of ``store``'s artifacts, subjects, gate states, device
    tokens, ``standing``'s preload policies and the collections ``follow`` names (the layers above:
    the alarms' schedules) (and, with ``cache``, of the actions and packages its read cache
    keeps); dead controllers' work goes through ``recover``."""
    if not isinstance(store, CouchDBStore):  # config.py refuses it first
        raise TypeError("a cluster needs the CouchDB store")
    node.takeover.recover = lambda dead, upto, via: node.adoption.listed(dead, upto, recover(
        functools.partial(owned_by, dead, upto), node.reclaimer(dead, hub.reclaim, via, upto),
        node.reclaimable))
    node.adoption.hub = hub.reclaim
    node.handoff.hub = hub.hand_off
    hub.arriving = node.arriving
    if standing is not None:  # every controller's decisions, listed by any
        standing.shared = RedisDecisions(node.redis, node.me)
    feed = Follower(store, {ARTIFACTS: artifacts.changed, SUBJECTS: authenticator.changed,
                            GATE_STATES: gates.changed, TOKENS: hub.token_changed,
                            **({POLICIES: standing.followed} if standing else {}),
                            **(follow or {}),
                            **{coll: functools.partial(store.changed, coll)
                               for coll in (CACHED if cache else ())}})
    await feed.start()  # the others' writes from here on (earlier ones are in the store)
    if cache:  # after the feed's start: no change it could miss
        store.cache_reads(CACHED)
    await node.start()
    mine = None if node.taker else node.me  # its last incarnation's, unless taken over

    async def leave() -> None:
        await node.close()
        await feed.close()

    return Joined(node, lambda doc: doc.get("owner") in (None, mine), leave)


def joining(url: str, me: str, hub: TunnelHub, engine: PlacementEngine, *,
            api: str | None = None, shard: bool = False) -> ClusterNode:
    """The node of controller ``me`` (its devices: the hub's online ones) at ``api``."""
    return open_node(url, me, hub.registry, engine,
                     lambda: [d for d in hub.devices.values() if d.online],
                     api=api, shard=shard)


def open_node(url: str, me: str, registry: InvokerRegistry, engine: PlacementEngine,
              devices: Callable[[], Iterable[Invoker]], *, api: str | None = None,
              shard: bool = False) -> ClusterNode:
    """A node on the Redis at ``url`` (redis-py's asyncio client, imported only here: a
    controller without ``--cluster-redis`` never needs it); its connections carry its name."""
    import redis.asyncio

    parts = urlsplit(url)
    where = urlunsplit((parts.scheme, f"{parts.hostname}:{parts.port or 6379}", "", "", ""))
    client = redis.asyncio.from_url(url, decode_responses=True,
                                    client_name=keys.client_name(me))
    return ClusterNode(me, client, registry, engine, devices, where=where, api=api,
                       shard=shard)
