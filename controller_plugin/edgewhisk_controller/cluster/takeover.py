"""Takeover: what a dead controller accepted and never recorded is finished by one live one.

Why a claim in Redis: every controller sees the death, and only one may finish the dead one's
accepted documents (twice would run an idempotent activation twice and record twice), so the
first to ``SET NX`` the claim does it, with the start-up recovery the controller runs for its
own restarts (``dispatch/recovery.py``, limited to the dead one's documents). A device the
dead controller held makes the controller it registers with take over at once, before its
``register`` is handled, so the results the device still holds are adopted and recorded
(``TunnelHub.reclaim``); otherwise the first controller to see the death claims it after
``GRACE_S``, leaving that moment to a reconnecting device. A taker may die in turn: each
claim also goes into the taker's set (``keys.taken``), which the one taking the taker over
inherits, claims and all, without looking at any other key.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from . import keys
from .claims import Claims
from .tasks import Tasks

log = logging.getLogger(__name__)

GRACE_S = 1.5
"""After a death is seen, before a controller no device came to claims it."""
CLAIM_TTL_S = 3600
"""How long a claim keeps others away (the dead controller's id may be reused after it)."""
TAKE = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return 0 end
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[2])
return 1
"""
"""Claim the dead controller ARGV[3] for ARGV[1] (KEYS[1]: its takeover key) and add it to
ARGV[1]'s set of takeovers (KEYS[2]) in one step: a taker that dies between the two would
leave a claim that no set lists, never inherited."""
INHERIT = """
local found = {}
for _, dead in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = ARGV[1] .. dead
  if redis.call('GET', key) == ARGV[2] then
    redis.call('SET', key, ARGV[3], 'KEEPTTL')
    redis.call('SADD', KEYS[2], dead)
    table.insert(found, dead)
  end
end
redis.call('DEL', KEYS[1])
if #found > 0 then redis.call('EXPIRE', KEYS[2], ARGV[4]) end
return found
"""
"""The controllers a dead taker (ARGV[2]) had taken over, read from its set (KEYS[1]), now
taken over by ARGV[3] and moved to its set (KEYS[2]) in one step: the work it had not
finished (accepted documents are never marked taken one by one) would otherwise stay
accepted, unrecorded, with no live controller finishing it. A member whose claim expired or
names another controller is dropped."""


class Takeover:
    def __init__(self, me: str, redis: Any,
                 recover: Callable[[str, str | None], Awaitable[object]] | None = None
                 ) -> None:
        """``recover(dead, via)``: finish what ``dead`` accepted (set by the application);
        ``via``: the dead controller that had taken ``dead`` over, if any."""
        self.me = me
        self.redis = redis
        self.recover = recover
        self._take_script = redis.register_script(TAKE)
        self._inherit_script = redis.register_script(INHERIT)
        self.taken: dict[str, str] = {}  # dead controller -> who took it over
        self._tasks = Tasks("cluster takeover")

    async def take_over(self, dead: str) -> bool:
        """Claim ``dead``'s work and finish it; whether this controller did."""
        if dead in self.taken or self.recover is None:
            return False
        won = await self._take_script(keys=[keys.takeover(dead), keys.taken(self.me)],
                                      args=[self.me, CLAIM_TTL_S, dead])
        self.taken[dead] = self.me if won else str(await self.redis.get(keys.takeover(dead)))
        if not won:
            return False
        log.warning("taking over the activations controller %s accepted", dead)
        # inherited before any recovery: should this one die during it, they are in its set
        theirs = await self._inherit_script(keys=[keys.taken(dead), keys.taken(self.me)],
                                            args=[keys.takeover(""), dead, self.me, CLAIM_TTL_S])
        done = await self.recover(dead, None)
        for inherited in theirs:
            self.taken[inherited] = self.me
            log.warning("taking over what controller %s took over from %s", dead, inherited)
            self._tasks.spawn(self._cleared(inherited, await self.recover(inherited, dead)))
        self._tasks.spawn(self._cleared(dead, done))  # a registration waiting here need not wait
        return True

    async def _cleared(self, dead: str, done: object) -> None:
        try:
            await self.redis.hdel(keys.MEMBERS, dead)  # its entry published devices it lost
            await Claims(self.redis).forget(dead)  # what it held on others' devices is free
        except Exception as exc:  # Redis away: its entry is ignored (no alive key), its
            # claims stay counted on the devices; logged
            log.warning("clearing controller %s's entry and claims failed: %s", dead, exc)
        log.warning("took over controller %s: %s", dead, done)

    def later(self, dead: str) -> None:
        """``dead`` was seen gone: claim it after ``GRACE_S`` unless someone did."""
        async def claim() -> None:
            await asyncio.sleep(GRACE_S)
            try:
                await self.take_over(dead)
            except Exception:
                log.exception("taking over controller %s failed", dead)

        self._tasks.spawn(claim())

    async def close(self) -> None:
        await self._tasks.close()
