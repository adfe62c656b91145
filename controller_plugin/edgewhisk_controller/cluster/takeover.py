"""Takeover: what a dead controller accepted and never recorded is finished by one live one.

Why a claim in Redis: every controller sees the death, and only one may finish the dead one's
accepted documents (twice would run an idempotent activation twice and record twice), so the
first to ``SET NX`` the claim does it, with the start-up recovery the controller runs for its
own restarts (``dispatch/recovery.py``, limited to the dead one's documents). A device the
dead controller held makes the controller it registers with take over at once, before its
``register`` is handled, so the results the device still holds are adopted and recorded
(``TunnelHub.reclaim``); otherwise the first controller to see the death claims it after
``GRACE_S``, leaving that moment to a reconnecting device, unless it sees the dead one live
again by then (its connections were re-dialled: it never died, and keeps its work). A taker
may die in turn: each claim also goes into the taker's set (``keys.taken``), which the one
taking the taker over inherits, claims and all, in the script that claims (each inherited
one's set followed in turn), reading those sets and no other key.

A takeover is of one incarnation (``keys.incarnation``): a controller that starts again
under its id counts one more (:meth:`Takeover.join`), and from then on a takeover of the
dead incarnation is refused in the same script that would claim it, so a live controller's
work is never taken from it (it finishes its last run's documents itself), and one that took
place first finishes only the documents stamped with the dead incarnation or before.

A controller that was not dead but stalled (a long pause, a frozen VM) past ``ALIVE_S`` and
the grace is taken over like a dead one; when it runs again it finds its own takeover key
set (:meth:`Takeover.taken_by`, read before each publication) and exits at once
(``node.FENCED_EXIT``), as if it had died then, instead of finishing, twice, what its taker
now finishes: its supervisor starts it again as a new incarnation.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ..background import Tasks
from . import keys
from .claims import Claims
from .tasks import RETRY_S

log = logging.getLogger(__name__)

GRACE_S = 1.5
"""After a death is seen, before a controller no device came to claims it."""
CLAIM_TTL_S = 3600
"""How long a claim keeps others away (the dead controller's id may be reused after it)."""
TAKE = """
if ARGV[4] ~= '' and redis.call('GET', KEYS[3]) ~= ARGV[4] then return {-1} end
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return {0} end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
local found = {1}
local seen = {[ARGV[1]] = true, [ARGV[3]] = true}
local takers = {ARGV[3]}
while #takers > 0 do
  local taker = table.remove(takers)
  for _, dead in ipairs(redis.call('SMEMBERS', ARGV[6] .. taker)) do
    local key = ARGV[5] .. dead
    if not seen[dead] and redis.call('GET', key) == taker then
      seen[dead] = true
      redis.call('SET', key, ARGV[1], 'KEEPTTL')
      redis.call('SADD', KEYS[2], dead)
      table.insert(takers, dead)
      table.insert(found, dead)
      table.insert(found, taker)
      table.insert(found, redis.call('GET', ARGV[7] .. dead) or '')
    end
  end
  redis.call('DEL', ARGV[6] .. taker)
end
redis.call('EXPIRE', KEYS[2], ARGV[2])
return found
"""
"""Claim incarnation ARGV[4] of the dead controller ARGV[3] for ARGV[1] (KEYS[1]: its
takeover key), add it to ARGV[1]'s set of takeovers (KEYS[2]) and inherit what it had taken
over, in one step: a taker dying between claiming and inheriting would leave a claim no set
lists, or a dead taker's takeovers naming it for ``CLAIM_TTL_S``, with no live controller
finishing their accepted documents (they are never marked taken one by one). The inherited
are read from the dead controller's set (ARGV[6]: the sets' prefix) and, in turn, from each
inherited one's set (whatever a taker had not moved yet), never from other keys; each comes
as (controller, the dead one that had taken it over, its incarnation: ARGV[7] the counters'
prefix). A member whose claim (ARGV[5]: the takeover keys' prefix) expired or names another
controller (it started again: ``JOIN`` cleared it) is dropped. Returns {1, ...}; {0}: someone
else holds the claim; {-1}: it started again since (its incarnation count, KEYS[3], moved
on; '' for an entry that named none). A claim this controller holds already is taken again
(a retry after a reply lost on the way); what was inherited then is in its set, not
returned again. These keys are built from ARGV, not declared in KEYS: the cluster needs one
Redis server (``keys.py``)."""
JOIN = """
local count = redis.call('INCR', KEYS[1])
local taker = redis.call('GET', KEYS[2])
if taker then redis.call('DEL', KEYS[2]) end
redis.call('PERSIST', KEYS[3])
redis.call('PERSIST', KEYS[4])
return {count, taker or ''}
"""
"""A controller starts: its new incarnation (KEYS[1] counted up) and who took its last one
over ('' if no one: its own to finish), the takeover key cleared for its next death, and its
run and reply streams (KEYS[3], KEYS[4]) its own again: a takeover of its last incarnation
left them to expire (``CLEAR``), and a run stream that expired under a live holder would
take its consumer group with it."""
CLEAR = """
if ARGV[2] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[2] then return 0 end
if ARGV[2] ~= '' then
  redis.call('EXPIRE', KEYS[3], ARGV[3])
  redis.call('EXPIRE', KEYS[4], ARGV[3])
end
return redis.call('HDEL', KEYS[1], ARGV[1])
"""
"""Drop the dead controller ARGV[1]'s entry (KEYS[1]: the members hash) unless it started
again (incarnation count KEYS[2] no longer ARGV[2]): its new entry is its own. Its run and
reply streams (KEYS[3], KEYS[4]) expire after ARGV[3] seconds: nobody reads them once its
work is finished, and they stayed for ever (the reply stream up to ``REPLIES_KEPT`` results),
one pair per controller id that ever died. Why not deleted at once: the others may not have
seen the death yet, and read the run stream's group then to tell which of their runs it never
read (``Routing.holder_gone``). Only for a known incarnation: one that started again since
keeps them (this script refuses), and an unknown one might have."""


Finish = Callable[[str, int | None, str | None], Awaitable[object]]
"""``recover(dead, upto, via)``: finish what ``dead`` accepted (its documents stamped with
incarnation ``upto`` or before; None: all); ``via``: the dead controller that had taken
``dead`` over, if any."""


class Takeover:
    def __init__(self, me: str, redis: Any, recover: Finish | None = None,
                 incarnation: Callable[[str], int | None] = lambda dead: None,
                 alive: Callable[[str], bool] = lambda controller: False) -> None:
        """``recover``: set by the application; ``incarnation``: a controller's incarnation
        as last seen alive (``Membership.incarnations``), None if it published none;
        ``alive(controller)``: whether membership counts it live now."""
        self.me = me
        self.alive = alive
        self.redis = redis
        self.recover = recover
        self.incarnation = incarnation
        self._take_script = redis.register_script(TAKE)
        self._join_script = redis.register_script(JOIN)
        self._clear_script = redis.register_script(CLEAR)
        self.taken: dict[str, str] = {}  # dead controller -> who took it over
        self._tried: dict[str, int | None] = {}  # dead controller -> the incarnation tried
        self._taking: dict[str, asyncio.Lock] = {}  # dead controller -> one take_over at once
        self._tasks = Tasks("cluster takeover")

    async def join(self) -> tuple[int, str]:
        """This controller starts: its incarnation, and who took its last one over while it
        was down ('' if no one: what that one accepted is its own to finish)."""
        count, taker = await self._join_script(keys=[
            keys.incarnation(self.me), keys.takeover(self.me), keys.runs(self.me),
            keys.replies(self.me)])
        return int(count), str(taker)

    async def take_over(self, dead: str, incarnation: int | None = None) -> bool:
        """Claim ``dead``'s work (of its ``incarnation``, default: the last seen alive) and
        finish it; whether this controller did (not if ``dead`` started again since).

        One at a time per dead controller: asked while one is under way here (a device
        registering, ``ClusterNode.arriving``, while ``later``'s claim is in flight), it
        returns once that one ended, ``taken`` then saying who took it over and the
        recovery done. Returning at once, knowing nothing, let the registration go on
        before the runs were reclaimed here or adopted for the taker: the device's held
        results were dropped as unknown, and the taker waited out its reclaim window."""
        async with self._taking.setdefault(dead, asyncio.Lock()):
            return await self._take_over(dead, incarnation)

    async def _take_over(self, dead: str, incarnation: int | None) -> bool:
        incarnation = self.incarnation(dead) if incarnation is None else incarnation
        if self.recover is None or (dead in self._tried and self._tried[dead] == incarnation):
            return False
        self._tried[dead] = incarnation
        try:
            found = await self._take_script(
                keys=[keys.takeover(dead), keys.taken(self.me), keys.incarnation(dead)],
                args=[self.me, CLAIM_TTL_S, dead, keys.written(incarnation), keys.takeover(""),
                      keys.taken(""), keys.incarnation("")])
        except Exception:  # Redis away: whether it ran is unknown; tried again later
            # (taking a claim it holds again), by this controller or another
            del self._tried[dead]
            raise
        won = int(found[0])
        if won < 0:
            log.warning("controller %s started again: its work stays its own", dead)
            self.taken.pop(dead, None)
            return False
        self.taken[dead] = self.me if won else str(await self.redis.get(keys.takeover(dead)))
        if not won:
            return False
        log.warning("taking over the activations controller %s accepted", dead)
        # what it inherits first: ``dead``'s own recovery marks its takeover listed once
        # every listing so far is written (``Adoption.listed``), and a device ``dead`` held
        # may hold an inherited run too; marked before that run's listing, the controller
        # the device registers with adopted without it, and its result was dropped
        for inherited, via, count in zip(found[1::3], found[2::3], found[3::3], strict=True):
            self.taken[inherited] = self.me
            log.warning("taking over what controller %s took over from %s", via, inherited)
            upto = int(count) if count else None
            self._tasks.spawn(self._cleared(inherited, upto,
                                            await self.recover(inherited, upto, via)))
        done = await self.recover(dead, incarnation, None)
        # a registration waiting here need not wait
        self._tasks.spawn(self._cleared(dead, incarnation, done))
        return True

    async def _cleared(self, dead: str, incarnation: int | None, done: object) -> None:
        try:  # its entry published devices it lost; what it held on others' devices is
            # free (neither if it started again: both are its new incarnation's then)
            await self._clear_script(
                keys=[keys.MEMBERS, keys.incarnation(dead), keys.runs(dead),
                      keys.replies(dead)],
                args=[dead, keys.written(incarnation), CLAIM_TTL_S])
            await Claims(self.redis).forget(dead, incarnation)
        except Exception as exc:  # Redis away: its entry is ignored (no alive key), its
            # claims stay counted on the devices; logged
            log.warning("clearing controller %s's entry and claims failed: %s", dead, exc)
        log.warning("took over controller %s: %s", dead, done)

    def later(self, dead: str) -> None:
        """``dead`` was seen gone: claim it after ``GRACE_S`` unless someone did, or it was
        seen live again meanwhile."""
        incarnation = self.incarnation(dead)  # the one seen dying

        async def claim() -> None:
            await asyncio.sleep(GRACE_S)
            if self.alive(dead):  # seen again: the same process (a restart is refused by
                # the claim's script), its connections re-dialled; taking a live controller
                # over would finish its accepted work beside it, twice
                log.warning("controller %s is back: not taken over", dead)
                return
            while True:
                try:
                    await self.take_over(dead, incarnation)
                    return
                except Exception:
                    log.exception("taking over controller %s failed", dead)
                if self._tried.get(dead, _UNTRIED) == incarnation:
                    return  # failed after the claim: its recovery's error, logged
                await asyncio.sleep(RETRY_S)  # the claim's script did not answer: again

        self._tasks.spawn(claim())

    async def taken_by(self) -> str:
        """Who took this controller's incarnation over while it runs ('' if no one): one that
        stalled (a pause, a frozen VM) longer than the others' patience and was claimed."""
        return str(await self.redis.get(keys.takeover(self.me)) or "")

    async def close(self) -> None:
        await self._tasks.close()


_UNTRIED = object()
"""Not in ``Takeover._tried``: no takeover of that controller was claimed."""
