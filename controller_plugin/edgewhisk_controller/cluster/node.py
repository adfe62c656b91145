"""ClusterNode: this controller as one of several sharing one CouchDB and one Redis.

It runs three loops for the controller's life: publishing its devices and following its
peers' (``membership.py``), serving the activations others send for the devices it holds, and
reading the answers to those it sent (``routing.py``). Redis errors are logged and retried
each period: a controller whose Redis is away keeps serving its own devices, and its peers
see it gone until it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiohttp import web
from edgewhisk_runtime.containers import RunOutcome
from edgewhisk_tunnel import Produce

from ..background import Tasks
from ..invokers.interface import Invoker
from ..invokers.local import LocalInvoker
from ..invokers.registry import InvokerRegistry
from ..placement.interface import PlacementEngine
from ..tunnel.patience import Reclaim
from . import keys
from .adoption import Adoption, HubReclaim
from .claims import Claims
from .exceptions import ClusterUnavailable
from .handoff import Handoff
from .membership import PUBLISH_S, Membership
from .ring import Ring
from .routing import Routing
from .shard import Sharding
from .takeover import Takeover
from .tasks import forever

log = logging.getLogger(__name__)

FENCED_EXIT = 75
"""The exit status of a controller that finds itself taken over while it runs (``EX_TEMPFAIL``:
start it again)."""


def _exit(status: int) -> None:
    """Leave at once, as a SIGKILL would: no shutdown, no record written, no device told."""
    logging.shutdown()
    os._exit(status)


class ClusterNode:
    def __init__(self, me: str, redis: Any, registry: InvokerRegistry,
                 engine: PlacementEngine, devices: Callable[[], Iterable[Invoker]], *,
                 where: str = "", api: str | None = None, shard: bool = False,
                 fence: Callable[[int], None] = _exit) -> None:
        """``devices``: the online devices whose tunnels this controller holds now;
        ``where``: the Redis, as error messages name it (no password); ``api``: this
        controller's API URL; ``shard``: hand invokes to their namespace's owner
        (``shard.py``); ``fence(status)``: how it leaves once taken over while it runs."""
        self.fence = fence
        self.me = me
        self.where = where
        self.registry = registry
        self.redis = redis
        self.devices = devices
        self.claims = Claims(redis, me)
        self.routing = Routing(me, redis, self._device, self.claims,
                               corrected=lambda id, free: self.membership.corrected(id, free),
                               alive=self.alive)
        self.membership = Membership(me, registry, engine, self.routing,
                                     local=lambda: [d.state() for d in devices()],
                                     is_local=lambda id: self._device(id) is not None,
                                     use=self._own_use, api=api,
                                     held=lambda id: self.claims.held.get(id, 0))
        self.shard = shard
        self.sharding = Sharding(me)
        self.takeover = Takeover(me, redis, incarnation=self.membership.incarnations.get,
                                 alive=self.alive)
        self.taker = ""  # who took this controller's last incarnation over while it was down
        self.adoption = Adoption(me, redis, self.routing)
        self.handoff = Handoff(me, self.routing, self.adoption)
        self.membership.on_gone.append(self.routing.holder_gone)
        self.membership.on_gone.append(self.takeover.later)
        self._loops = Tasks("cluster loops")
        self._ring: Ring | None = None

    def alive(self, controller: str) -> bool:
        """Whether membership counts ``controller`` live now (its key renewed, its
        connections open): the one liveness routing and the takeover read."""
        return controller in self.membership.live

    def _own_use(self, id: str) -> int:
        """The memory this controller's own placements hold on its device ``id`` (what it
        runs there for other controllers is in their claims)."""
        pending = getattr(self._device(id), "pending", {})
        return sum(p.memory_mb for aid, p in pending.items()
                   if aid not in self.routing.serving)

    def _device(self, id: str) -> Invoker | None:
        return next((d for d in self.devices() if d.id == id), None)

    @property
    def live(self) -> tuple[str, ...]:
        """The live controllers' ids, sorted (this one included)."""
        return self.membership.live

    def sharing(self, kind: str) -> int:
        """How many controllers share a namespace's requests of ``kind`` (``invoke``,
        ``fire``), each throttling its part of the limits: every live one, as a load
        balancer spreads them, but with ``shard`` the namespace's owner takes its invokes."""
        return 1 if kind == "invoke" and self.shard else max(1, len(self.live))

    def owner(self, namespace: str) -> str:
        """The live controller owning ``namespace``'s placements (``ring.py``)."""
        if self._ring is None or self._ring.controllers != self.live:
            self._ring = Ring(self.live)
        return self._ring.owner(namespace)

    def owner_api(self, namespace: str) -> tuple[str, str] | None:
        """With ``shard``: the live controller owning ``namespace`` and its API URL, unless
        it is this one (or publishes none)."""
        if not self.shard:
            return None
        owner = self.owner(namespace)
        url = self.api_of(owner)
        return None if url is None else (owner, url)

    def api_of(self, controller: str) -> str | None:
        """The API URL of live ``controller`` that a request here is handed or relayed to;
        None if it is this one or publishes none."""
        return None if controller == self.me else self.membership.apis.get(controller)

    def status(self, namespace: str) -> dict[str, Any]:
        """What ``GET .../cluster`` answers: this controller, the live ones, the namespace's
        owner, and this controller's claims so far (conflicts among them)."""
        return {"controller": self.me, "live": list(self.live),
                "owner": self.owner(namespace), "claims": self.claims.claims,
                "conflicts": self.claims.conflicts, "forwarded": self.routing.forwarded,
                "served": self.routing.served, "peers": len(self.membership.peers),
                "handoffs": {"handed": self.handoff.handed, "taken": self.handoff.taken},
                "adopted": self.adoption.adopted,
                "sharded": {"on": self.shard, "sent": self.sharding.sent,
                            "received": self.sharding.received}}

    def reclaimable(self, id: str) -> bool:
        """Whether a result of invoker ``id`` may be waited for: any but a local invoker."""
        return id not in self.registry or not isinstance(self.registry.get(id), LocalInvoker)

    def reclaimer(self, dead: str, tunnel: HubReclaim, via: str | None = None,
                  incarnation: int | None = None) -> Reclaim:
        """How a takeover of ``dead`` waits for a result: from the device's tunnel when
        ``dead`` held it (it registers again, ``TunnelHub.reclaim``), else from the answer
        the device's holder (this controller or another) sent to ``dead``'s reply stream
        (``Routing.reply_to``); either way up to ``patience_s``, what the run may still take
        (a live holder answers when it ends; ``tunnel`` bounds only the device's return).
        A holder's answer is waited for until it dies without one (the device may still
        come here holding the result). ``via``: a dead controller that had taken ``dead``
        over: the result comes from the device at this hub, or an answer sent to either (an
        adopter answered ``via``); ``incarnation``: ``dead``'s, the one taken over."""
        def reclaim(invoker_id: str, activation_id: str, memory_mb: int, logs_limit: int,
                    produces: tuple[Produce, ...], patience_s: float
                    ) -> asyncio.Future[RunOutcome]:
            here = tunnel(invoker_id, activation_id, memory_mb, logs_limit, produces)
            holder = self.me if self._device(invoker_id) is not None \
                else self.membership.last_holder.get(invoker_id)
            if holder is None or holder in (dead, via):  # here, or whoever adopts it
                adopted = self.adoption.wanted(here, dead, incarnation, invoker_id,
                                               activation_id, memory_mb, logs_limit,
                                               produces, patience_s)
                if via is None:
                    return adopted
                # or the answer of a controller that adopted it from ``via``'s listing
                # (``via`` may have died before listing: then only this listing is adopted)
                return asyncio.ensure_future(first_outcome(adopted, self.routing.reply_to(
                    dead, activation_id, invoker_id, patience_s, via)))
            # the device may also come here holding the result (its holder died meanwhile)
            if via is not None:  # an adopter's answer: it does not die with the holder
                answer = self.routing.reply_to(dead, activation_id, invoker_id, patience_s, via)
            else:
                answer = self.routing.reply_to(
                    dead, activation_id, invoker_id, patience_s,
                    gone=lambda: holder is None or not self.alive(holder))
            return asyncio.ensure_future(first_outcome(here, answer))
        return reclaim

    async def arriving(self, id: str) -> None:
        """Device ``id`` registers here (``TunnelHub.arriving``): if the controller that
        held it died, take its work over first (the device's results are then reclaimed
        here), or, when another controller took it over, adopt what that one waits for from
        the device (``adoption.py``); if it lives, adopt what it sent the device
        (``handoff.py``). What this one handed over with the device comes back to wait here,
        but for what the live controller it left hands back; what other controllers listed
        for it is adopted (a run handed over with it to a controller that died since,
        ``Adoption.take_listed``); its peer entry goes either way."""
        holder = self.membership.last_holder.get(id)
        taken: set[str] = set()
        with contextlib.suppress(Exception):  # Redis away: what follows fails alike, logged
            self.handoff.registering(id, int(await self.redis.hincrby(keys.REGISTRATIONS,
                                                                      id, 1)))
        if holder is None or holder == self.me:
            self.handoff.returning(id)  # back before this one saw where it went
        else:
            try:
                if not await self.membership.dead(self.redis, holder):
                    taken = await self.handoff.ask(id, holder)
                else:
                    self.handoff.returning(id)
                    await self.takeover.take_over(holder)
                    if self.takeover.taken.get(holder, self.me) != self.me:
                        await self.adoption.adopt(id, holder, self.takeover.incarnation(holder))
            except Exception:  # Redis away: the membership loop's takeover will do
                log.exception("taking device %s over from controller %s failed", id, holder)
        try:
            await self.adoption.take_listed(id, skip=taken)
        except Exception:
            log.exception("adopting the runs listed for device %s failed", id)
        self.membership.displace(id)

    async def start(self) -> None:
        """Join: count this incarnation (the claims of the last one dropped), publish,
        read the others once, then run the loops."""
        try:
            incarnation, self.taker = await self.takeover.join()
            self.membership.incarnation = incarnation
            await self.claims.forget(self.me, incarnation)  # it holds none yet
            await self.membership.publish(self.redis)
            await self.membership.refresh(self.redis)
        except Exception as exc:  # redis' connection and authentication errors
            with contextlib.suppress(Exception):
                await self.redis.aclose()
            raise ClusterUnavailable(f"the cluster's Redis at {self.where} cannot be "
                                     f"reached: {exc}") from None
        for serving in (self.routing.serve, self.routing.read_replies):
            self._loops.spawn(forever(serving, "serving runs"))
        self._loops.spawn(forever(self._follow, "membership"))

    async def _follow(self) -> None:
        while True:
            taker = await self.takeover.taken_by()
            if taker:
                log.critical("controller %s took this controller (%s, incarnation %s) over "
                             "while it was stalled: leaving at once (exit status %d), so "
                             "that nothing is done twice; start it again", taker, self.me,
                             self.membership.incarnation, FENCED_EXIT)
                self.fence(FENCED_EXIT)
                return
            await self.membership.publish(self.redis)
            await self.membership.refresh(self.redis)
            await asyncio.sleep(PUBLISH_S)

    async def close(self) -> None:
        """Leave: stop the loops, remove this controller's entry, close the connection."""
        await self._loops.close(timeout=None)
        await self.routing.close()
        await self.takeover.close()
        await self.handoff.close()
        await self.adoption.close()
        await self.sharding.close()
        with contextlib.suppress(Exception):
            await self.redis.hdel(keys.MEMBERS, self.me)
            await self.redis.delete(keys.alive(self.me))
        await self.redis.aclose()


NODE = web.AppKey("cluster", ClusterNode)
"""The application's node (set when the controller starts with ``--cluster-redis``)."""


async def first_outcome(*waits: Awaitable[RunOutcome]) -> RunOutcome:
    """The first outcome any of ``waits`` ends with; an error only once all ended with one
    (the last). The others are left to end on their own: a hub's reclaim ends at its window."""
    pending = {asyncio.ensure_future(w) for w in waits}
    error: BaseException | None = None
    while pending:
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        for future in done:
            if future.exception() is None:
                for rest in pending:  # their errors, later, are expected: retrieved
                    rest.add_done_callback(lambda f: f.cancelled() or f.exception())
                return future.result()
            error = future.exception()
    assert error is not None
    raise error
