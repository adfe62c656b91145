"""Optimistic claims on a device's memory, committed atomically in Redis.

Why optimistic: each controller places on its own view of every device (what the holder last
published, ``membership.py``), which may be stale by a publishing period; the decision is
committed by a claim that checks, in one Lua script run atomically by Redis, that what all
controllers hold on the device still leaves room. A claim that does not fit is a *conflict*:
the claimant learns the device's real use (its view is corrected) and places again; the
dispatcher does that already for an activation that never left (``InvokerLost`` with
``maybe_started=False``). This is Omega's shared-state scheduling with the device's memory as
the one contended resource.

Why a claim can also take a queue slot: placement queues on a full device by default
(``queue_when_full``: the device's pool runs it once memory frees), so a controller that placed
on a peer's device *knowing it full* decided to queue there, and refusing that claim would
count its own decision as a conflict. Such a claim (``queue=limit``) takes running memory if it
fits, else one of the device's ``limit`` waiting slots (``PlacementConfig.queue_limit``, the
one bound; ``NO_BOUND`` when it sets none, the default: a device of one's own queues without
bound). A claim made believing the device had room asks for memory only: when another
controller took that room first, it conflicts, so a conflict is a race between views (two
controllers took the last memory or the last slot), never a decision to queue.

A device's hash (``keys.claims(id)``) holds ``capacity`` and ``local`` (written by its holder
each period: its memory and what its own placements hold), ``claimed:C`` (the memory controller
C's claims hold, incremented by a claim and decremented by its release) and ``queued:C`` (the
slots C's queued claims hold); both dropped when C dies (:meth:`Claims.forget`, on the devices
of C's set, ``keys.claimed(C)``), so a dead claimant's share does not stay held.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import keys

CLAIM = """
local capacity = tonumber(redis.call('HGET', KEYS[1], 'capacity') or '-1')
if capacity < 0 then return {-1, 0, 0} end
local fields = redis.call('HGETALL', KEYS[1])
local used, waiting = 0, 0
for i = 1, #fields, 2 do
  if fields[i] == 'local' or string.sub(fields[i], 1, 8) == 'claimed:' then
    used = used + tonumber(fields[i + 1])
  elseif string.sub(fields[i], 1, 7) == 'queued:' then
    waiting = waiting + tonumber(fields[i + 1])
  end
end
local wanted = tonumber(ARGV[1])
if used + wanted <= capacity then
  redis.call('HINCRBY', KEYS[1], 'claimed:' .. ARGV[2], wanted)
  redis.call('SADD', KEYS[2], ARGV[4])
  return {1, used + wanted, capacity}
end
local limit = tonumber(ARGV[3])
if limit < 0 or waiting < limit then
  redis.call('HINCRBY', KEYS[1], 'queued:' .. ARGV[2], 1)
  redis.call('SADD', KEYS[2], ARGV[4])
  return {2, used, capacity}
end
return {0, used, capacity}
"""
"""``{1, used, capacity}`` memory claimed; ``{2, used, capacity}`` a waiting slot claimed (the
memory did not fit, ``ARGV[3]`` slots allowed, any number if it is below 0); ``{0, used,
capacity}`` a conflict; ``{-1, 0, 0}`` the device is published by no one (its holder is gone
or never wrote it). A claim also adds the device (``ARGV[4]``) to the claimant's set
(``KEYS[2]``, ``keys.claimed``), in the same step, for :data:`FORGET`."""
FORGET = """
if ARGV[3] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[3] then return 0 end
local dropped = 0
for _, device in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local fields = {'claimed:' .. ARGV[2], 'queued:' .. ARGV[2]}
  dropped = dropped + math.min(1, redis.call('HDEL', ARGV[1] .. device, unpack(fields)))
end
redis.call('DEL', KEYS[1])
return dropped
"""
"""Drop the claims of the dead controller ``ARGV[2]`` on the devices of its set (``KEYS[1]``;
``ARGV[1]`` the claims keys' prefix) and the set: how many devices had one. Nothing if it
started again since incarnation ``ARGV[3]`` (its count ``KEYS[2]`` moved on; '': any): the
claims are then its new incarnation's, the old ones dropped when it started. The claims
keys are built from ``ARGV``, not declared in ``KEYS``: one Redis server (``keys.py``)."""


NO_BOUND = -1
"""``queue`` of a claim that may take any number of waiting slots (``queue_limit`` None)."""


@dataclass(frozen=True)
class Claim:
    ok: bool
    used_mb: int
    capacity_mb: int
    known: bool = True  # False: no holder publishes the device
    queued: bool = False  # a waiting slot, not memory: the device's pool queues the run


class Claims:
    def __init__(self, redis: Any, me: str = "") -> None:
        """``me``: the claimant (this controller's id)."""
        self.redis = redis
        self.me = me
        self._script = redis.register_script(CLAIM)
        self._forget = redis.register_script(FORGET)
        self.claims = 0
        self.conflicts = 0
        self.held: dict[str, int] = {}  # device -> the memory this claimant's claims hold

    async def claim(self, device: str, memory_mb: int, queue: int = 0) -> Claim:
        """Commit ``memory_mb`` on ``device`` if it still fits, else one of its ``queue``
        waiting slots if one is free (``NO_BOUND``: always; counted: claims, conflicts)."""
        ok, used, capacity = await self._script(keys=[keys.claims(device), keys.claimed(self.me)],
                                                args=[memory_mb, self.me, queue, device])
        self.claims += 1
        if int(ok) == 0:
            self.conflicts += 1
        elif int(ok) == 1:
            self.held[device] = self.held.get(device, 0) + memory_mb
        return Claim(int(ok) >= 1, int(used), int(capacity), known=int(ok) >= 0,
                     queued=int(ok) == 2)

    async def release(self, device: str, memory_mb: int, queued: bool = False) -> None:
        """Give back what a claim took (its memory, or its waiting slot)."""
        if queued:
            await self.redis.hincrby(keys.claims(device), f"queued:{self.me}", -1)
        else:
            held = self.held[device] = self.held.get(device, 0) - memory_mb
            if held <= 0:
                del self.held[device]
            await self.redis.hincrby(keys.claims(device), f"claimed:{self.me}", -memory_mb)

    async def forget(self, claimant: str, incarnation: int | None = None) -> int:
        """Drop every claim of ``claimant`` (a dead controller; of its ``incarnation``, if
        known, unless it started again since); how many devices had one."""
        return int(await self._forget(
            keys=[keys.claimed(claimant), keys.incarnation(claimant)],
            args=[keys.claims(""), claimant, keys.written(incarnation)]))

    @staticmethod
    def publish(pipe: Any, device: str, capacity_mb: int, local_mb: int) -> None:
        """The holder's part, queued on ``pipe``: the device's memory and its own use."""
        pipe.hset(keys.claims(device), mapping={"capacity": capacity_mb, "local": local_mb})

    @property
    def conflict_rate(self) -> float:
        return self.conflicts / self.claims if self.claims else 0.0
