"""Membership: which controllers live and which devices each one's tunnels hold.

Why a hash, expiring keys and named connections in Redis: every controller writes its own
entry (the devices it holds, with their placement state) every ``PUBLISH_S``, renews a key
that expires after ``ALIVE_S`` and names its connections (``keys.client_name``). A controller
whose process dies loses its connections at once (the kernel closes them), which the others
read in ``CLIENT LIST`` on their next refresh; one whose host or link dies stops renewing, and
is gone after ``ALIVE_S``: no election and no home-made failure detector. What the others publish
becomes :class:`~.peer.PeerInvoker`s in this controller's registry and placement engine; a
device that registers here displaces its peer entry (the hub asks, ``displace``), and one whose
controller is gone leaves until it registers again somewhere.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from ..invokers.registry import InvokerRegistry
from ..placement.interface import InvokerState, PlacementEngine
from . import keys
from .claims import NO_BOUND, Claims
from .peer import Forwarder, PeerInvoker
from .wire import dumps, state_json, state_of

log = logging.getLogger(__name__)

PUBLISH_S = 0.25
"""How often a controller publishes its devices and reads the others' (a change is seen by the
others within about twice this)."""
ALIVE_S = 3.0
"""A controller that has not renewed its key for this long is gone."""
RENEWAL_POLL_S = 0.05
"""How often a key's time to live is read while waiting to see it renewed or expire."""
_COLUMNS = tuple(f for f in InvokerState.__dataclass_fields__ if f != "id")
_NEVER = object()
"""Not in ``Membership.mourned``: never reported gone."""


class Membership:
    def __init__(self, me: str, registry: InvokerRegistry, engine: PlacementEngine,
                 forwarder: Forwarder, local: Callable[[], Iterable[InvokerState]],
                 is_local: Callable[[str], bool],
                 use: Callable[[str], int] = lambda id: 0, api: str | None = None,
                 held: Callable[[str], int] = lambda id: 0) -> None:
        """``local``: the states of the devices this controller holds now; ``is_local``:
        whether an id is one of them (it then wins over a peer's stale entry); ``use``: the
        memory this controller's own placements hold on one (``claims.py``); ``api``: its API
        URL, published for the others to hand it its namespaces' invokes (``shard.py``);
        ``held``: the memory this controller's claims hold on a peer's device."""
        self.use = use
        self.held = held
        self.api = api
        self.apis: dict[str, str] = {}  # live controller -> its API URL (those that publish one)
        self.me = me
        self.registry = registry
        self.engine = engine
        self.forwarder = forwarder
        self.local = local
        self.is_local = is_local
        self.peers: dict[str, PeerInvoker] = {}
        self.live: tuple[str, ...] = (me,)
        self.mourned: dict[str, object] = {}  # dead entry -> the incarnation reported gone
        self.on_gone: list[Callable[[str], None]] = []  # a controller died or left
        self.last_holder: dict[str, str] = {}  # device id -> the controller that held it
        self.incarnation: int | None = None  # this controller's (``Takeover.join``)
        self.incarnations: dict[str, int] = {}  # controller -> its incarnation last seen alive

    async def publish(self, redis: Any) -> None:
        states = list(self.local())
        devices = [state_json(state) for state in states]
        pipe = redis.pipeline(transaction=False)
        for state in states:
            Claims.publish(pipe, state.id, state.memory_mb, self.use(state.id))
        # the key before the entry: an entry read without its key would be a death
        pipe.set(keys.alive(self.me), "1", px=int(ALIVE_S * 1000))
        pipe.hset(keys.MEMBERS, self.me, dumps({"at": time.time(), "devices": devices,
                                                "api": self.api,
                                                "incarnation": self.incarnation}))
        await pipe.execute()

    async def refresh(self, redis: Any) -> None:
        """Read every entry: the live controllers, and the peers' devices to follow."""
        members: dict[str, str] = await redis.hgetall(keys.MEMBERS)
        entries = {m: json.loads(text) for m, text in members.items() if m != self.me}
        others = sorted(entries)
        flags = await redis.mget([keys.alive(m) for m in others]) if others else []
        connected = await self.connected(redis)
        live = [m for m, flag in zip(others, flags, strict=True)
                if flag and keys.client_name(m) in connected]
        for member in live:
            self._incarnation(member, entries[member])
            self.mourned.pop(member, None)
        gone = self._gone(entries, set(live))
        self.live = tuple(sorted([self.me, *live]))
        for member in gone:
            log.warning("controller %s is gone", member)
            for callback in self.on_gone:
                callback(member)
        wanted: dict[str, tuple[str, InvokerState]] = {}
        self.apis = {}
        for member in live:
            entry = entries[member]
            if entry.get("api"):
                self.apis[member] = str(entry["api"])
            for plain in entry.get("devices", ()):
                wanted[plain["id"]] = (member, state_of(plain))
                self.last_holder[plain["id"]] = member
        self._follow(wanted)

    def _gone(self, entries: dict[str, Any], live: set[str]) -> set[str]:
        """The controllers to report gone: those seen live and no longer, and every dead
        entry not reported yet for its incarnation. Its entry, not only a change from live,
        makes a death: a controller that died before this one ever saw it live (within a
        publication of joining, or before this one started) left work nobody else would
        take over; reported once per incarnation, not at every refresh."""
        gone = set(self.live) - live - {self.me}
        for member, entry in entries.items():
            if member in live:
                continue
            seen = self._incarnation(member, entry, keep=member in gone)
            if self.mourned.get(member, _NEVER) != seen:
                self.mourned[member] = seen
                gone.add(member)
        for member in [m for m in self.mourned if m not in entries]:  # cleared: forgotten
            del self.mourned[member]
        return gone

    def _incarnation(self, member: str, entry: dict[str, Any], keep: bool = False
                     ) -> int | None:
        """The incarnation ``member``'s entry names, remembered as the one seen (``keep``:
        the one last seen alive stays, for a controller seen dying)."""
        seen = entry.get("incarnation")
        if seen is not None and not (keep and member in self.incarnations):
            self.incarnations[member] = int(seen)
        return None if seen is None else int(seen)

    async def dead(self, redis: Any, holder: str) -> bool:
        """Whether ``holder``, the controller a registering device left, is dead, as the
        device's held results need it known: its connections closed (its process died), or
        its key expires before it renews it, waited for up to ``ALIVE_S``. Its connections
        alone do not tell a host or link death: they stay listed for minutes, and a device
        registering here before the key expired had the results it held for ``holder``
        dropped as unknown (no takeover yet to reclaim them). A live holder renews within
        ``PUBLISH_S``: the device waits that long."""
        if keys.client_name(holder) not in await self.connected(redis):
            return True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ALIVE_S + PUBLISH_S
        last = await redis.pttl(keys.alive(holder))
        log.info("controller %s is listed connected: waiting up to %g s for it to renew its "
                 "key", holder, ALIVE_S + PUBLISH_S)
        while last >= 0 and loop.time() < deadline:
            await asyncio.sleep(RENEWAL_POLL_S)
            left = await redis.pttl(keys.alive(holder))
            if left > last:
                return False  # renewed: live
            last = left
        return last < 0  # -2: expired (or removed on leaving)

    @staticmethod
    async def connected(redis: Any) -> set[str]:
        """The names of the connections Redis holds now (a killed controller's are gone)."""
        return {str(c.get("name")) for c in await redis.client_list()}

    def _follow(self, wanted: dict[str, tuple[str, InvokerState]]) -> None:
        for id in list(self.peers):
            if id not in wanted:
                self.displace(id)
        for id, (holder, state) in wanted.items():
            if self.is_local(id):
                continue  # registered here since: ours wins over a stale publication
            peer = self.peers.get(id)
            if peer is None:
                if id in self.registry:
                    continue  # a local invoker of the same name: not ours to shadow
                peer = self.peers[id] = PeerInvoker(self.forwarder, holder, state,
                                                    self.queue)
                self.registry.register(peer)
                self.engine.register(state)
                continue
            before, peer.published, peer.holder = peer.published, state, holder
            changed = {c: getattr(state, c) for c in _COLUMNS
                       if getattr(state, c) != getattr(before, c)}
            if changed:
                self.engine.heartbeat(id, **changed)

    def queue(self, id: str, memory_mb: int) -> int:
        """The waiting slots a run of ``memory_mb`` just placed on peer ``id`` may claim: the
        config's bound (``NO_BOUND`` if it sets none) when placement queues on full devices and
        this controller knew the device full: its engine's view, charged with the run, holds
        less than nothing free there, or its own claims there leave no room (the holder's
        publication may not show them yet, and overwrites the view); else 0."""
        config, free, peer = self.engine.config, self.engine.free_memory(id), self.peers.get(id)
        if not config.queue_when_full or free is None or peer is None:
            return 0
        full = free < 0 or self.held(id) + memory_mb > peer.published.memory_mb
        if not full:
            return 0
        return NO_BOUND if config.queue_limit is None else config.queue_limit

    def corrected(self, id: str, free_mb: int) -> None:
        """A claim on peer ``id`` conflicted: its real free memory, until the next refresh."""
        peer = self.peers.get(id)
        if peer is not None:
            peer.published = dataclasses.replace(peer.published, free_memory_mb=free_mb)
            self.engine.heartbeat(id, free_memory_mb=free_mb)

    def displace(self, id: str) -> None:
        """Forget the peer entry of ``id`` (it registered here, or its holder is gone)."""
        peer = self.peers.pop(id, None)
        if peer is None:
            return
        peer.gone = True
        if id in self.registry and self.registry.get(id) is peer:
            self.registry.unregister(id)
        try:
            self.engine.unregister(id)
        except KeyError:
            pass
