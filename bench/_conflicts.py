"""The placement conflict rate of optimistic claims, measured on a real Redis (the claims of
``edgewhisk_controller.cluster.claims``, one connection per simulated controller).

The model, stated: ``devices`` edge devices of ``SLOTS`` activations of 256 MB each, ``TENANT``
devices per namespace (a device serves its token's namespace only), filled to ``FILL`` of their
memory before the measurement. Each of ``controllers`` controllers places on its own view of
every device, taken at the start of each publishing period (the membership's 0.25 s) and
updated by its own claims; ``rate`` placements a second in all arrive spread over the period,
for namespaces drawn uniformly, each at a random controller (no sharding) or at the namespace's
owner on the consistent-hash ring (sharding). A controller picks the device of the namespace
with the most free memory in its view (``BalancedLoad``; ties at random) and claims it; a
conflict (another controller took the room since the view) corrects the view and places again,
at most ``RETRIES`` times. Conflict rate = conflicting claims / claims.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Any

import numpy as np
import redis.asyncio
from edgewhisk_controller.cluster import keys
from edgewhisk_controller.cluster.claims import Claims
from edgewhisk_controller.cluster.ring import Ring

SLOTS = 4
MB = 256
TENANT = 10
FILL = 0.5
PERIOD_S = 0.25
RETRIES = 3


@dataclass
class Result:
    devices: int
    controllers: int
    sharded: bool
    rate: int
    claims: int = 0
    conflicts: int = 0
    failed: int = 0  # placements that found no room after their retries

    @property
    def conflict_rate(self) -> float:
        return self.conflicts / self.claims if self.claims else 0.0


async def _publish(client: Any, truth: np.ndarray) -> None:
    pipe = client.pipeline(transaction=False)
    for device, used in enumerate(truth.tolist()):
        pipe.hset(keys.claims(f"d{device}"), mapping={
            "capacity": SLOTS * MB, "local": used * MB})
        if device % 5000 == 4999:
            await pipe.execute()
            pipe = client.pipeline(transaction=False)
    await pipe.execute()


async def measure(uri: str, devices: int, controllers: int, sharded: bool, rate: int,
                  placements: int, seed: int = 7) -> Result:
    """One configuration (see the module docstring); the claims are deleted after it."""
    rng = random.Random(seed)
    used = np.array([SLOTS * FILL] * devices, dtype=np.int64)  # slots used, the truth
    clients = [redis.asyncio.from_url(uri, decode_responses=True) for _ in range(controllers)]
    claims = [Claims(c, f"c{i}") for i, c in enumerate(clients)]
    ring = Ring([f"c{i}" for i in range(controllers)])
    result = Result(devices, controllers, sharded, rate)
    namespaces = devices // TENANT
    per_period = max(1, int(rate * PERIOD_S))
    try:
        await _publish(clients[0], used)
        while result.claims - result.conflicts < placements:
            views = [used.copy() for _ in range(controllers)]  # the period's publication
            for _ in range(per_period):
                ns = rng.randrange(namespaces)
                at = int(ring.owner(f"ns{ns}")[1:]) if sharded else rng.randrange(controllers)
                await _place(claims[at], views[at], used, ns, rng, result)
    finally:
        await clients[0].delete(*[keys.claims(f"d{d}") for d in range(devices)])
        for client in clients:
            await client.aclose()
    return result


async def _place(claims: Claims, view: np.ndarray, used: np.ndarray, ns: int,
                 rng: random.Random, result: Result) -> None:
    first = ns * TENANT
    for _ in range(RETRIES + 1):
        free = SLOTS - view[first:first + TENANT]
        best = int(free.max())
        if best <= 0:
            result.failed += 1
            return
        device = first + rng.choice([i for i, f in enumerate(free.tolist()) if f == best])
        claim = await claims.claim(f"d{device}", MB)
        result.claims += 1
        if claim.ok:
            view[device] += 1
            used[device] += 1
            return
        result.conflicts += 1
        view[device] = claim.used_mb // MB  # the corrected view
    result.failed += 1


def run(uri: str, sizes: list[int], controllers: list[int], rate_per_controller: int,
        placements: int) -> list[Result]:
    """Every size x controller count, unsharded and sharded; at most a fifth of the free
    memory is placed, so the fill stays near ``FILL``."""
    async def all_of() -> list[Result]:
        return [await measure(uri, n, k, sharded, rate_per_controller * k,
                              min(placements, int(n * SLOTS * (1 - FILL) * 0.2)))
                for n in sizes for k in controllers for sharded in (False, True)]

    return asyncio.run(all_of())
