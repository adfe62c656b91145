"""The conflict rate of real claims with and without tenant sharding (``--cluster-shard``):
2 controllers, each holding the tunnel of one edge agent, blocking invokes of one namespace's
action spread over both controllers as a load balancer would.

The set-up, stated: the namespace's two devices have room for ``SLOTS`` runs each
(``--memory`` over the action's memory); the clients keep half that room, then all of it, in
flight (``LOADS``). A controller places on its own view of its peer's device (published 0.25 s
ago at most) and claims the room (``cluster/claims.py``); a conflict is corrected and placed
again. With sharding every invoke is handed to the namespace's owner, which places all of them
on its own view. Placement queues on a full device by default (``queue_when_full``); with
``queue_limit`` 0 a claim refuses what does not fit, so a placement made knowing the device
full counts as a conflict too (at full load the count mixes overload with races between views);
with ``queue_limit`` ``QUEUE_LIMIT`` (or no bound, the default) such a claim takes a waiting
slot, and a conflict is a race. (Seen here:
nearly every placement goes to the device that got the action's warm container first, warm
affinity outweighing free memory, so a namespace's owner piles its runs onto one device.)
Counted from both controllers' ``GET .../cluster`` (claims, conflicts) before and after the
measured invokes.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from dataclasses import dataclass
from pathlib import Path

import _report as report  # bench/ is on sys.path (see _report.py)
import aiohttp
from edgewhisk_devkit import UNLIMITED, Agent, Cluster, CouchDB, Redis, tunnel_url

SLOTS = 2
ACTION_MB = 256
SLEEP_S = 0.05
QUEUE_LIMIT = 2 * SLOTS
"""The waiting slots a device gives other controllers' runs (``queue_limit``) on the second
side of each: as many as the clients could leave waiting there."""
LOADS = (SLOTS, 2 * SLOTS)
"""Clients (blocking invokes in flight): half the two devices' room, and all of it."""
ACTION = {"exec": {"kind": "python:3",
                   "code": f"import time\ndef main(args):\n    time.sleep({SLEEP_S})\n"
                           "    return {}\n"},
          "limits": {"memory": ACTION_MB, "concurrency": 1, "timeout": 60_000}}


@dataclass
class Sharded:
    sharded: bool
    queue: int
    clients: int
    invokes: int
    claims: int
    conflicts: int
    failed: int
    wall_s: float

    @property
    def rate(self) -> float:
        return self.conflicts / self.claims if self.claims else 0.0


async def _counts(urls: list[str], auth: str) -> tuple[int, int]:
    claims = conflicts = 0
    async with aiohttp.ClientSession(headers={"Authorization": auth}) as session:
        for url in urls:
            async with session.get(f"{url}/api/v1/namespaces/_/cluster") as response:
                status = await response.json()
            claims, conflicts = claims + status["claims"], conflicts + status["conflicts"]
    return claims, conflicts


async def _load(urls: list[str], auth: str, calls: int, clients: int) -> int:
    """``calls`` blocking invokes by ``clients`` clients; how many failed (a 502 or 500 with
    its record: a conflict after the last re-placement, ``dispatch/running.py``)."""
    remaining, failed = calls, 0

    async def client(url: str) -> None:
        nonlocal remaining, failed
        async with aiohttp.ClientSession(headers={"Authorization": auth}) as session:
            while remaining > 0:
                remaining -= 1
                async with session.post(f"{url}/api/v1/namespaces/_/actions/work"
                                        "?blocking=true", json={}) as response:
                    body = await response.json()
                    if response.status != 200:
                        if "activationId" not in body:  # not an activation's failure
                            raise RuntimeError(f"{url}: HTTP {response.status}: {body}")
                        failed += 1

    await asyncio.gather(*(client(urls[i % len(urls)]) for i in range(clients)))
    return failed


def _side(folder: Path, couch: CouchDB, sharded: bool, queue: int,
          calls: int) -> list[Sharded]:
    name = f"{'shard' if sharded else 'noshard'}{queue}"
    config = folder / f"{name}.json"
    config.write_text(json.dumps({"queue_limit": queue}))
    options = ("--invokers", "0", *UNLIMITED, "--placement-config", str(config),
               *(("--cluster-shard",) if sharded else ()))
    with Redis(folder / f"redis-{name}") as redis, \
            Cluster(folder / name, 2, db=f"{couch.url}?prefix={name}_", redis=redis.uri,
                    options=options) as cluster:
        agents = []
        try:
            for i, controller in enumerate(cluster.controllers):
                with controller.client() as client:
                    token = str(client.tokens.create(f"dev-{i}")["token"])
                    if i == 0:
                        client.actions.put("work", ACTION)
                agents.append(Agent(tunnel_url(controller.api_host), token, "--memory",
                                    str(SLOTS * ACTION_MB), "--no-battery", "--no-sandbox",
                                    id=f"dev-{i}", log=folder / f"{name}-agent{i}.log",
                                    own_group=True).start())
            for agent in agents:
                agent.wait_registered()
            urls = cluster.api_hosts
            auth = "Basic " + base64.b64encode(cluster[0].auth.encode()).decode()
            time.sleep(1.0)  # each controller sees the other's device as a peer
            asyncio.run(_load(urls, auth, 4 * SLOTS, 2 * SLOTS))  # warm: containers started
            results = []
            for clients in LOADS:
                claims, conflicts = asyncio.run(_counts(urls, auth))
                started = time.perf_counter()
                failed = asyncio.run(_load(urls, auth, calls, clients))
                wall = time.perf_counter() - started
                after = asyncio.run(_counts(urls, auth))
                results.append(Sharded(sharded, queue, clients, calls, after[0] - claims,
                                       after[1] - conflicts, failed, wall))
            return results
        finally:
            for agent in agents:
                agent.stop()


def measure(folder: Path, couch: CouchDB, calls: int) -> list[Sharded]:
    """Without sharding, then with it, the same invokes at each of ``LOADS``, each without and
    with waiting slots for other controllers' runs."""
    return [r for sharded in (False, True) for queue in (0, QUEUE_LIMIT)
            for r in _side(folder, couch, sharded, queue, calls)]


def table(results: list[Sharded]) -> str:
    return report.table(
        (("sharded", 7), ("queue", 5), ("clients", 7), ("invokes", 7), ("invokes/s", 9),
         ("claims", 7), ("conflicts", 9), ("rate", 7), ("failed", 6)),
        [["yes" if r.sharded else "no", str(r.queue), str(r.clients), str(r.invokes),
          f"{r.invokes / r.wall_s:.0f}", str(r.claims), str(r.conflicts),
          f"{100 * r.rate:.2f}%", str(r.failed)] for r in results])
