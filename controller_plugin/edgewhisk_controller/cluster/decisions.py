"""The standing preloads' decisions of every controller, in one Redis list.

Why shared: a device's preloads are decided by the controller holding its tunnel, and a load
balancer sends ``GET .../preload-policies`` and ``GET .../invokers`` to any controller; each
used to list only the decisions it made itself. The list is capped at the number of decisions
one controller keeps (``standing.DECISIONS``): written once per push, read per listing.
"""

from __future__ import annotations

import json
from typing import Any

from ..artifacts.standing import DECISIONS
from . import keys


class RedisDecisions:
    """``artifacts.standing.SharedDecisions`` on the cluster's Redis, for controller
    ``controller``."""

    def __init__(self, redis: Any, controller: str, keep: int = DECISIONS) -> None:
        self.redis, self.controller, self.keep = redis, controller, keep

    async def add(self, decision: dict[str, Any]) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lpush(keys.PRELOAD_DECISIONS, json.dumps(decision))
            pipe.ltrim(keys.PRELOAD_DECISIONS, 0, self.keep - 1)
            await pipe.execute()

    async def recent(self) -> list[dict[str, Any]]:
        entries = await self.redis.lrange(keys.PRELOAD_DECISIONS, 0, self.keep - 1)
        return [json.loads(entry) for entry in reversed(entries)]
