"""Optimistic claims on a device's memory, committed atomically in Redis.

Why optimistic: each controller places on its own view of every device (what the holder last
published, ``membership.py``), which may be stale by a publishing period; the decision is
committed by a claim that checks, in one Lua script run atomically by Redis, that what all
controllers hold on the device still leaves room. A claim that does not fit is a *conflict*:
the claimant learns the device's real use (its view is corrected) and places again; the
dispatcher does that already for an activation that never left (``InvokerLost`` with
``maybe_started=False``). This is Omega's shared-state scheduling with the device's memory as
the one contended resource.

A device's hash (``keys.claims(id)``) holds ``capacity`` and ``local`` (written by its holder
each period: its memory and what its own placements hold) and ``claimed:C`` (what controller
C's claims hold, incremented by a claim and decremented by its release; dropped when C dies,
:meth:`Claims.forget`, so a dead claimant's share does not stay held).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import keys

CLAIM = """
local capacity = tonumber(redis.call('HGET', KEYS[1], 'capacity') or '-1')
if capacity < 0 then return {-1, 0, 0} end
local fields = redis.call('HGETALL', KEYS[1])
local used = 0
for i = 1, #fields, 2 do
  if fields[i] == 'local' or string.sub(fields[i], 1, 8) == 'claimed:' then
    used = used + tonumber(fields[i + 1])
  end
end
local wanted = tonumber(ARGV[1])
if used + wanted > capacity then return {0, used, capacity} end
redis.call('HINCRBY', KEYS[1], 'claimed:' .. ARGV[2], wanted)
return {1, used + wanted, capacity}
"""
"""``{1, used, capacity}`` claimed; ``{0, used, capacity}`` a conflict; ``{-1, 0, 0}`` the
device is published by no one (its holder is gone or never wrote it)."""


@dataclass(frozen=True)
class Claim:
    ok: bool
    used_mb: int
    capacity_mb: int
    known: bool = True  # False: no holder publishes the device


class Claims:
    def __init__(self, redis: Any, me: str = "") -> None:
        """``me``: the claimant (this controller's id)."""
        self.redis = redis
        self.me = me
        self._script = redis.register_script(CLAIM)
        self.claims = 0
        self.conflicts = 0

    async def claim(self, device: str, memory_mb: int) -> Claim:
        """Commit ``memory_mb`` on ``device`` if it still fits (counted: claims, conflicts)."""
        ok, used, capacity = await self._script(keys=[keys.claims(device)],
                                                args=[memory_mb, self.me])
        self.claims += 1
        if int(ok) == 0:
            self.conflicts += 1
        return Claim(int(ok) == 1, int(used), int(capacity), known=int(ok) >= 0)

    async def release(self, device: str, memory_mb: int) -> None:
        await self.redis.hincrby(keys.claims(device), f"claimed:{self.me}", -memory_mb)

    async def forget(self, claimant: str) -> int:
        """Drop every claim of ``claimant`` (a dead controller); how many devices had one."""
        dropped = 0
        async for key in self.redis.scan_iter(match=keys.claims("*"), count=1000):
            dropped += int(await self.redis.hdel(key, f"claimed:{claimant}"))
        return dropped

    @staticmethod
    def publish(pipe: Any, device: str, capacity_mb: int, local_mb: int) -> None:
        """The holder's part, queued on ``pipe``: the device's memory and its own use."""
        pipe.hset(keys.claims(device), mapping={"capacity": capacity_mb, "local": local_mb})

    @property
    def conflict_rate(self) -> float:
        return self.conflicts / self.claims if self.claims else 0.0
