"""Adoption: a dead controller's device registers with a controller other than the one that
took the dead one over; the results it holds reach the taker within seconds, not after the
reclaim window.

Why: the taker (``takeover.py``) waits for the results of the runs the dead controller had on
its devices (``TunnelHub.reclaim``), but a device dials the next controller of its own list,
which need not be the taker. That controller did not know the runs (the device's held results
were dropped as unknown), and the taker waited out the window (then 40 s), then
recorded them as failed (or ran an idempotent one again). Now the taker lists what it waits
for in Redis (``keys.reclaims(device)``), then marks its takeover listed
(``keys.listed``); the controller the device registers with reads the list before the
registration is handled and adopts each run (``HDEL``: one adopter) through its own hub. The
device's result, and the memory the run holds on the device until it ends, are then that
controller's (it publishes the memory as its own use, ``claims.py``), and it sends the outcome
to the taker's reply stream, read as the answers a dead controller's holder sent are
(``Routing.reply_to``). The taker's wait ends with whichever comes first: the device at its
own hub, or the adopter's answer; its hub's window ending ends it only if nobody adopted the
run (an adopted one may run on past it).

A taker slower than ``LISTED_WAIT_S`` to list (its recovery reads the store) used to leave the
device registered elsewhere with its held results dropped, and the taker waiting out the
whole window for an answer that could no longer come. Now the adopter marks the device back
(``keys.came_back``, in the same transaction that reads what to adopt), and the taker's
listing (one Lua script) finds the mark and ends its wait at once: the run is lost with the
device, as when a device comes back without it (recorded failed, or run again if idempotent),
decided in seconds instead of 40.

Both marks are of one takeover, the dead controller's incarnation's (``keys.listed``,
``keys.came_back``): they last as long as the claim, and a controller that started again under
its id and died again within that time left its next takeover reading the first one's, the
adopter not waiting for the new listing and that listing finding the old mark, its wait ended
at once and the device's results dropped.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import Awaitable, Callable, Collection
from typing import Any, TypeVar

from edgewhisk_runtime.containers import RunOutcome
from edgewhisk_tunnel import Produce

from ..background import Tasks
from ..tunnel.exceptions import InvokerLost
from . import keys
from .routing import Routing, settled
from .takeover import CLAIM_TTL_S  # a listing lasts as long as the claim it serves

log = logging.getLogger(__name__)

T = TypeVar("T")
HubReclaim = Callable[[str, str, int, int, "tuple[Produce, ...]"],
                     "asyncio.Future[RunOutcome]"]
"""A hub's ``TunnelHub.reclaim`` (a takeover's ``tunnel.patience.Reclaim`` without the
patience: the hub bounds only the device's return)."""
LISTED_WAIT_S = 3.0
"""How long a registration waits for the taker to list what it waits for (it lists right
after its claim; a taker that died before listing leaves nothing to adopt)."""
POLL_S = 0.05
LIST = """
local back = redis.call('HGET', KEYS[1], ARGV[1])
if back then return back end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return ''
"""
"""List what a takeover waits for from a device, unless the device came back elsewhere
first: '' listed, else the controller it came back to."""


def described(by: str, memory_mb: int, logs_limit: int,
              produces: tuple[Produce, ...]) -> dict[str, Any]:
    """A run another controller may adopt (``Adoption.take``), waited for by ``by``."""
    return {"by": by, "memory": memory_mb, "logs": logs_limit,
            "produces": [dataclasses.asdict(p) for p in produces]}


class Adoption:
    def __init__(self, me: str, redis: Any, routing: Routing) -> None:
        self.me = me
        self.redis = redis
        self.routing = routing
        self.hub: HubReclaim | None = None
        """This controller's ``TunnelHub.reclaim`` (set when it joins)."""
        self.adopted = 0
        self._list_script = redis.register_script(LIST)
        self._listing = Tasks("cluster adoption")
        self._tasks = Tasks("cluster adoption")
        self._waits = Tasks("cluster adoption's waits", logged=False)  # their awaiter reads

    # -- the taker's side -------------------------------------------------------------------

    def wanted(self, here: asyncio.Future[RunOutcome], dead: str, incarnation: int | None,
               device: str, activation_id: str, memory_mb: int, logs_limit: int,
               produces: tuple[Produce, ...], within_s: float) -> asyncio.Future[RunOutcome]:
        """The taker's wait for ``activation_id`` on ``device`` (held by that ``incarnation``
        of ``dead``, the one taken over): ``here`` (the device back at its own hub) or the
        answer of the controller that adopted it, whichever first; ``InvokerLost`` at once if
        the device came back elsewhere first. ``here`` failing (its window over) ends the
        wait only if nobody adopted the run: an adopted one may run on past the window, and
        its adopter answers when it ends."""
        entry = json.dumps(described(self.me, memory_mb, logs_limit, produces))
        listing = self._listing.spawn(self._list(dead, incarnation, device,
                                                     activation_id, entry))
        there = self._waits.spawn(self._there(listing, device, activation_id, within_s))
        result: asyncio.Future[RunOutcome] = asyncio.get_running_loop().create_future()

        def settle(done: asyncio.Future[RunOutcome]) -> None:
            failed = None if done.cancelled() else done.exception()  # retrieved either way
            if result.done() or done.cancelled():
                return
            if failed is not None and done is here:
                self._tasks.spawn(unless_adopted(failed))
                return
            if failed is not None:
                result.set_exception(failed)
            else:
                result.set_result(done.result())
            there.cancel()
            self._tasks.spawn(self.unlist(device, activation_id))

        async def unless_adopted(failed: BaseException) -> None:
            """Unlisted in one step (``HDEL``): then nobody adopts it, and the wait ends
            with ``failed``; else an adopter took it first, and ``there`` has its answer.
            The taker's own listing is awaited first: a window ending (or a device back here
            without the run) before it is written would find nothing to unlist and read that
            as adopted, and wait for an answer nobody sends."""
            try:
                back = await asyncio.shield(listing)  # '' once listed; else not listed
                adopted = not back and not await self.unlist(device, activation_id)
            except Exception:  # Redis away: no answer can come through it either
                adopted = False
            if not adopted and not result.done():
                result.set_exception(failed)
                there.cancel()

        here.add_done_callback(settle)
        there.add_done_callback(settle)
        return result

    async def _list(self, dead: str, incarnation: int | None, device: str,
                    activation_id: str, entry: str) -> str:
        """'' once listed; else the controller ``device`` came back to before the listing."""
        return str(await self._list_script(keys=[keys.reclaims(device)], args=[
            keys.came_back(dead, incarnation), activation_id, entry, CLAIM_TTL_S]))

    async def _there(self, listing: asyncio.Task[str], device: str, activation_id: str,
                     within_s: float) -> RunOutcome:
        """The adopter's answer, unless the device came back where none was listed."""
        try:
            back = await asyncio.shield(listing)
        except Exception:  # Redis failed: logged by the task; an answer may still come
            back = ""
        if back:
            raise InvokerLost(device, f"it registered with controller {back} before the "
                                      "takeover listed the activation")
        return await self.routing.reply_to(self.me, activation_id, device, within_s)

    async def listed(self, dead: str, incarnation: int | None, recovering: Awaitable[T]) -> T:
        """Run the takeover's recovery of that ``incarnation`` of ``dead``; then, in the
        background, mark what it waits for listed once every listing is written. The device
        registering here, whose registration waits for this, has its runs in this
        controller's hub already; only a controller adopting them elsewhere needs the mark,
        and it waits for it."""
        done = await recovering
        for _ in range(3):  # the reclaims it spawned start (and list themselves) first
            await asyncio.sleep(0)
        self._tasks.spawn(self._mark(dead, incarnation, list(self._listing)))
        return done

    async def _mark(self, dead: str, incarnation: int | None,
                    listing: list[asyncio.Task[Any]]) -> None:
        await asyncio.gather(*listing, return_exceptions=True)
        await self.redis.set(keys.listed(dead, incarnation), self.me, ex=CLAIM_TTL_S)

    # -- the adopter's side -----------------------------------------------------------------

    async def adopt(self, device: str, dead: str, incarnation: int | None) -> int:
        """``device``, held by that ``incarnation`` of ``dead``, which another controller took
        over, registers here: adopt what the taker waits for from it (before the
        registration is handled). The marks are of that incarnation's takeover: an earlier
        death's listing and mark, read here, let this skip the wait for the taker's listing,
        which then found the old mark and ended its wait at once, the device's results
        dropped."""
        if self.hub is None:
            return 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LISTED_WAIT_S
        while not await self.redis.exists(keys.listed(dead, incarnation)) \
                and loop.time() < deadline:
            await asyncio.sleep(POLL_S)
        pipe = self.redis.pipeline(transaction=True)  # listed from now on: too late
        pipe.hset(keys.reclaims(device), keys.came_back(dead, incarnation), self.me)
        pipe.expire(keys.reclaims(device), CLAIM_TTL_S)
        pipe.hgetall(keys.reclaims(device))
        adopted = await self._take_all(device, (await pipe.execute())[-1])
        if adopted:
            log.warning("adopted %d run(s) of device %s for the controller that took %s "
                        "over", adopted, device, dead)
        return adopted

    async def take_listed(self, device: str, skip: Collection[str] = ()) -> int:
        """``device`` registers here: adopt every run listed for it that another controller
        waits for (before the registration is handled), but those in ``skip`` (this one
        adopted them already); how many. Its results can come only here now: a run a
        controller handed over with the device (``list_handed``) whose taker died is waited
        for by no one else the device may reach."""
        adopted = await self._take_all(device, await self.redis.hgetall(keys.reclaims(device)),
                                       skip)
        if adopted:
            log.warning("adopted %d run(s) of device %s listed by the controllers waiting "
                        "for them", adopted, device)
        return adopted

    async def _take_all(self, device: str, wanted: dict[str, str],
                        skip: Collection[str] = ()) -> int:
        """Adopt each run of ``wanted`` (``device``'s listing) that is not this controller's
        own wait (its hub has it), in ``skip``, or adopted by another (``HDEL``: one
        adopter); how many."""
        adopted = 0
        for activation_id, text in wanted.items():
            if activation_id.startswith(keys.BACK) or activation_id in skip:
                continue  # a device's mark, not a run; or adopted here already
            want = json.loads(text)
            if want.get("by") == self.me \
                    or not await self.unlist(device, activation_id):
                continue
            self.take(device, activation_id, want)
            adopted += 1
        self.adopted += adopted
        return adopted

    # -- runs handed over with their device (``handoff.py``) ----------------------------

    async def list_handed(self, device: str, runs: dict[str, dict[str, Any]]) -> None:
        """List the runs (``described``) this controller hands over with ``device`` before
        the controller it registered with adopts them: should that one die before they end,
        the controller the device registers with next adopts them from the list
        (``take_listed``) and answers this one."""
        if runs:
            pipe = self.redis.pipeline(transaction=True)
            pipe.hset(keys.reclaims(device), mapping={
                activation_id: json.dumps(want) for activation_id, want in runs.items()})
            pipe.expire(keys.reclaims(device), CLAIM_TTL_S)
            await pipe.execute()

    async def unlist(self, device: str, activation_id: str) -> bool:
        """Take ``activation_id`` off ``device``'s listing in one step (``HDEL``): whether
        it was still there (nobody adopted it; an adopter unlists it so, too)."""
        return bool(await self.redis.hdel(keys.reclaims(device), activation_id))

    def take(self, device: str, activation_id: str, want: dict[str, Any]) -> None:
        """Adopt the run ``want`` describes (``described``) into this controller's hub: the
        device's result for it ends it here, and its outcome goes to ``want["by"]``."""
        assert self.hub is not None  # set when the controller joins, before any device
        future = self.hub(device, activation_id, int(want["memory"]), int(want["logs"]),
                          tuple(Produce(**p) for p in want.get("produces", ())))
        self._tasks.spawn(self._answer(str(want["by"]), activation_id, future))

    async def _answer(self, taker: str, activation_id: str,
                      future: asyncio.Future[RunOutcome]) -> None:
        kind, text = await settled(activation_id, future)
        await self.routing.answer(taker, activation_id, kind, text)

    async def close(self) -> None:
        await asyncio.gather(self._tasks.close(), self._listing.close(), self._waits.close())
