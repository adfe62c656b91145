"""Benchmark of several controllers as one (issue 18, items 2-3), in one run:

1. **Throughput**: blocking invokes of a warm no-op through 1 controller and through 2, each
   controller pinned to its own core (``taskset -c``), each with the store's read cache and
   without it (``--no-read-cache``: the action read from the store on every invoke, as
   before), every cluster on pouchdb-server (one CouchDB API) and a Redis of its own, with one
   local invoker per controller (process backend). Clients (aiohttp, kept-alive connections)
   spread evenly over the controllers' URLs, as a load balancer would; the four clusters take
   the same calls in alternating chunks (ABBA) so all see the same machine load. Reported:
   invokes/s, p50/p99 latency, CPU ms per invoke of the controllers (``/proc``, all their
   threads; their containers, CouchDB and Redis counted apart) and of pouchdb-server, store
   requests per invoke (pouchdb-server's request log) and Redis commands per invoke (``INFO
   commandstats``), and the ratios 2 / 1 and cache / none.
2. **Conflict rate** of optimistic claims at 1,000 to 100,000 devices and 2 to 10 controllers,
   with and without namespace sharding (``_conflicts.py``: the model is stated there), on a
   real Redis.
3. **Real claims** with and without tenant sharding (``--cluster-shard``): 2 controllers, a
   device each, one namespace's invokes through both (``_sharding.py``): claims, conflicts,
   with no waiting slots for a peer's runs on a full device (``queue_limit`` 0) and with some.
4. **A projection** to 10 controllers and 100,000 devices from both, its model printed.

Prints tables (stdout; progress on stderr) and writes bench/out/scale.png.

    python bench/scale.py [--calls 1000] [--clients 8] [--sizes 1000,10000,100000]
    edgewhisk bench scale [--calls 1000] [--clients 8] [--sizes 1000,10000,100000]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import functools
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _conflicts as conflicts  # bench/ is on sys.path (see _report.py)
import _sharding as sharding
import _wrk as wrk
import aiohttp
from _cpu import cpu_seconds
from _paired import chunked
from _report import pct, save, table
from edgewhisk_devkit import UNLIMITED, Cluster, CouchDB, Redis

OUT = Path(__file__).resolve().parent / "out"
ROOT = Path(__file__).resolve().parents[1]
POUCHDB = ROOT / ".services" / "node_modules" / ".bin" / "pouchdb-server"
NOOP = {"exec": {"kind": "python:3", "code": "def main(args):\n    return {}\n"},
        "limits": {"memory": 128, "concurrency": 1, "timeout": 60_000}}
CHUNKS = 5
AIM_CPU_MS = 0.3  # issue 18 item 1: controller CPU per blocking invoke


@dataclass
class Side:
    """One cluster under load: its controllers' pids, latencies (ms), wall and CPU time."""

    name: str
    urls: list[str]
    auth: str  # the Authorization header
    pids: list[int]
    couch: int  # the CouchDB server's pid (shared: charged to whichever side is running)
    prefix: str  # its databases' prefix: its lines in the CouchDB server's request log
    redis: Any  # a client of its own Redis (commands counted by INFO commandstats)
    latencies: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    cpu_s: float = 0.0
    couch_s: float = 0.0
    requests: int = 0  # store requests while measured (pouchdb-server's log)
    reads: int = 0  # of them, reads of one document (GET, the changes feed apart)
    redis_calls: int = 0  # Redis commands while measured

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall_s if self.wall_s else 0.0

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.cpu_s / max(1, len(self.latencies))

    @property
    def couch_ms(self) -> float:
        return 1000 * self.couch_s / max(1, len(self.latencies))

    def per_invoke(self, count: int) -> float:
        return count / max(1, len(self.latencies))


def redis_calls(client: Any) -> int:
    """Commands the Redis has run so far (``INFO commandstats``; these INFOs left out)."""
    stats = client.info("commandstats")
    return sum(int(v["calls"]) for k, v in stats.items() if k != "cmdstat_info")


def store_requests(log: Path, offset: int, prefix: str) -> tuple[int, int]:
    """Requests to ``prefix``'s databases that pouchdb-server logged after byte ``offset``
    of its request log (``log.txt``: one line a request, ``... - - METHOD /db/...``), and
    how many of them were reads of one document (a ``GET``, the changes feed apart): what the
    read cache takes away, counted apart from the writes, whose batching varies with load."""
    with log.open("rb") as file:
        file.seek(offset)
        text = file.read()
    db = re.escape(prefix.encode())
    return (len(re.findall(rb" - - [A-Z]+ /" + db, text)),
            len(re.findall(rb" - - GET /" + db + rb"[^/ ]*/(?!_)[^ ]+", text)))


async def drive(side: Side, calls: int, clients: int, measured: bool = True,
                log: Path | None = None) -> None:
    """``calls`` blocking invokes by ``clients`` clients, client i on URL i mod n."""
    remaining, latencies = calls, []

    async def client(url: str) -> None:
        nonlocal remaining
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1),
                                         headers={"Authorization": side.auth}) as session:
            while remaining > 0:
                remaining -= 1
                start = time.perf_counter()
                async with session.post(url, json={}) as response:
                    await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"{url}: HTTP {response.status}")
                latencies.append((time.perf_counter() - start) * 1000)

    cpu, couch = sum(cpu_seconds(p) for p in side.pids), cpu_seconds(side.couch)
    offset = log.stat().st_size if log is not None else 0
    commands = redis_calls(side.redis)
    started = time.perf_counter()
    await asyncio.gather(*(client(side.urls[i % len(side.urls)]) for i in range(clients)))
    if measured:
        side.redis_calls += redis_calls(side.redis) - commands
        if log is not None:
            requests, reads = store_requests(log, offset, side.prefix)
            side.requests, side.reads = side.requests + requests, side.reads + reads
        side.wall_s += time.perf_counter() - started
        side.cpu_s += sum(cpu_seconds(p) for p in side.pids) - cpu
        side.couch_s += cpu_seconds(side.couch) - couch
        side.latencies += latencies


def _driven(side: Side, clients: int, log: Path, calls: int) -> None:
    """One chunk of ``side``: ``calls`` measured invokes."""
    asyncio.run(drive(side, calls, clients, log=log))


CLUSTERS = (  # name, controllers, options: the read cache off ("before") and on
    ("1 ctl, no cache", 1, ("--no-read-cache",)), ("2 ctl, no cache", 2, ("--no-read-cache",)),
    ("1 controller", 1, ()), ("2 controllers", 2, ()))
WRK_CLUSTERS = ("1 controller", "2 controllers")
"""The clusters driven by wrk too, when it is installed."""


def throughput(folder: Path, couch: CouchDB, calls: int,
               clients: int) -> tuple[list[Side], list[wrk.Driven] | None]:
    """Each of ``CLUSTERS`` (controller i pinned to core i), alternating chunks of the same
    calls; the store's requests counted in pouchdb-server's request log. Then, if wrk is
    installed, the clusters with the read cache driven by wrk (``_wrk.py``) for as long as
    the Python clients took on them (at least 1 s a chunk); None without wrk."""
    import redis

    cores = [["taskset", "-c", str(i % (os.cpu_count() or 1))] for i in range(2)]
    log = couch.folder / "log.txt"
    sides: list[Side] = []
    with contextlib.ExitStack() as stack:
        for index, (name, count, options) in enumerate(CLUSTERS):
            server = stack.enter_context(Redis(folder / f"redis{index}"))
            prefix = f"s{index}_"
            cluster = stack.enter_context(Cluster(
                folder / f"cluster{index}", count, db=f"{couch.url}?prefix={prefix}",
                redis=server.uri, options=(*UNLIMITED, *options), wraps=cores))
            with cluster[0].client() as client:
                client.actions.put("noop", NOOP)
            auth = "Basic " + base64.b64encode(cluster[0].auth.encode()).decode()
            client_of_redis = stack.enter_context(redis.Redis.from_url(server.uri))
            sides.append(Side(name, [f"{c.api_host}/api/v1/namespaces/_/actions/noop"
                                     f"?blocking=true&result=true" for c in cluster.controllers],
                              auth, [c.pid for c in cluster.controllers], couch.pid, prefix,
                              client_of_redis))
        for side in sides:
            asyncio.run(drive(side, 20 * clients, clients, measured=False))  # warm
        size = calls // CHUNKS  # ABBA (_paired.chunked): no side always first
        chunked({side.name: functools.partial(_driven, side, clients, log) for side in sides},
                size * CHUNKS, size, lambda done: print(
                    f"  throughput: chunk {done // size}/{CHUNKS}", file=sys.stderr, flush=True))
        if not wrk.available():
            return sides, None
        cached = [s for s in sides if s.name in WRK_CLUSTERS]
        seconds = max(1.0, round(max(s.wall_s for s in cached) / CHUNKS, 1))
        print(f"  throughput: wrk, {CHUNKS} chunks of {seconds:g} s", file=sys.stderr,
              flush=True)
        return sides, wrk.measure([(s.name, s.urls, s.auth, s.pids) for s in cached], clients,
                                  seconds, CHUNKS, folder, cpu_seconds)


THROUGHPUT = (("cluster", -16), ("invokes/s", 9), ("p50 ms", 7), ("p99 ms", 7),
              ("CPU ms/inv", 10), ("CouchDB ms/inv", 14), ("store req/inv", 13),
              ("reads/inv", 9), ("Redis/inv", 9))
RATIOS = (("2/1 no cache", "2 ctl, no cache", "1 ctl, no cache"),
          ("2/1", "2 controllers", "1 controller"),
          ("1: cache/none", "1 controller", "1 ctl, no cache"),
          ("2: cache/none", "2 controllers", "2 ctl, no cache"))
"""Each ratio row: its label, the cluster over, the cluster under."""


def throughput_table(sides: list[Side]) -> str:
    rows = [[s.name, f"{s.rate:.0f}", f"{pct(s.latencies, 50):.2f}",
             f"{pct(s.latencies, 99):.2f}", f"{s.cpu_ms:.3f}", f"{s.couch_ms:.3f}",
             *(f"{s.per_invoke(n):.2f}" for n in (s.requests, s.reads, s.redis_calls))]
            for s in sides]
    by = {s.name: s for s in sides}
    for label, over, under in RATIOS:
        a, b = by[over], by[under]
        rows.append([label, *(f"{ratio(x, y):.2f}" for x, y in (
            (a.rate, b.rate), (pct(a.latencies, 50), pct(b.latencies, 50)),
            (pct(a.latencies, 99), pct(b.latencies, 99)), (a.cpu_ms, b.cpu_ms),
            (a.couch_ms, b.couch_ms),
            (a.per_invoke(a.requests), b.per_invoke(b.requests))))])
    return table(THROUGHPUT, rows)


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def conflicts_table(results: list[conflicts.Result]) -> str:
    return table((("devices", 8), ("controllers", 11), ("sharded", 7), ("rate/s", 7),
                  ("claims", 7), ("conflicts", 9), ("rate", 7), ("failed", 6)),
                 [[str(r.devices), str(r.controllers), "yes" if r.sharded else "no",
                   str(r.rate), str(r.claims), str(r.conflicts),
                   f"{100 * r.conflict_rate:.2f}%", str(r.failed)] for r in results])


def projection(sides: list[Side], results: list[conflicts.Result]) -> str:
    """10 controllers and 100,000 devices, from the measured numbers; the model in words."""
    one = next(s for s in sides if s.name == "1 controller")
    per_core = 1000 / one.cpu_ms if one.cpu_ms else 0.0
    big = [r for r in results if r.devices == max(x.devices for x in results)]
    worst = max((r.conflict_rate for r in big if not r.sharded), default=0.0)
    sharded = max((r.conflict_rate for r in big if r.sharded), default=0.0)
    rate10 = 10 * per_core / (1 + worst)
    aim10 = 10 * (1000 / AIM_CPU_MS) / (1 + worst)
    couch = one.couch_ms
    return "\n".join([
        "model: a controller's throughput is bounded by its CPU per invoke (one core each, "
        f"measured {one.cpu_ms:.3f} ms -> {per_core:.0f} invokes/s a core); the shared "
        "engines (CouchDB, Redis) scale apart and are not the bound assumed; a conflict "
        "costs one more placement and claim, so 10 controllers place "
        "10 x per-core / (1 + conflict rate); devices cost heartbeats on the controller "
        "holding them (the hot path's number), 10,000 each for 100,000 devices.",
        f"projection: 10 controllers, 100,000 devices: ~{rate10:,.0f} invokes/s with claims "
        f"(conflict rate {100 * worst:.2f}% unsharded at the largest size measured, "
        f"{100 * sharded:.2f}% with namespace sharding); ~{aim10:,.0f} invokes/s at the hot "
        f"path's aim of {AIM_CPU_MS} ms a controller invoke. The store must then keep up: "
        f"pouchdb-server spent {couch:.2f} ms CPU an invoke here (one node process), so "
        f"~{rate10 * couch / 1000:.0f} cores of it at the first rate; a CouchDB cluster "
        "shards that, which this machine cannot show (2 cores shared by all of it)."])


def plot(sides: list[Side], results: list[conflicts.Result], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.bar([s.name for s in sides], [s.rate for s in sides],
             color=["#bbb", "#888", "#6c9", "#2a6"])
    left.tick_params(axis="x", labelsize=7)
    left.set_ylabel("blocking invokes/s")
    left.set_title("throughput (controllers pinned to cores)")
    for sharded, style in ((False, "o-"), (True, "s--")):
        for k in sorted({r.controllers for r in results}):
            rows = [r for r in results if r.controllers == k and r.sharded == sharded]
            right.plot([r.devices for r in rows], [100 * r.conflict_rate for r in rows],
                       style, label=f"{k} controllers{' sharded' if sharded else ''}")
    right.set_xscale("log")
    right.set_xlabel("devices")
    right.set_ylabel("conflicting claims (%)")
    right.set_title("optimistic claims")
    right.legend(fontsize=8)
    fig.tight_layout()
    save(fig, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000, help="measured invokes per cluster")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--sizes", default="1000,10000,100000", help="devices, comma-separated")
    parser.add_argument("--controllers", default="2,10", help="controller counts to simulate")
    parser.add_argument("--rate", type=int, default=750,
                        help="placements a second per controller in the conflict model")
    parser.add_argument("--placements", type=int, default=2000,
                        help="placements measured per configuration (at most)")
    parser.add_argument("--out", type=Path, default=OUT / "scale.png", help="plot file")
    args = parser.parse_args(argv)
    sizes = [int(n) for n in args.sizes.split(",")]
    counts = [int(n) for n in args.controllers.split(",")]
    if min([args.calls, args.clients, args.rate, args.placements, *sizes, *counts]) < 1 \
            or min(sizes) < conflicts.TENANT or args.calls < CHUNKS:
        parser.error(f"every number must be positive, --sizes at least {conflicts.TENANT} "
                     f"and --calls at least {CHUNKS}")
    folder = Path(tempfile.mkdtemp(prefix="edgewhisk-bench-scale-"))
    try:
        with CouchDB(folder / "couchdb", POUCHDB) as couch:
            print(f"scale bench: {args.calls} blocking invokes per cluster, {args.clients} "
                  f"clients; CouchDB API at {couch.url}", file=sys.stderr)
            sides, driven = throughput(folder, couch, args.calls, args.clients)
            print("  sharding: measuring real claims", file=sys.stderr, flush=True)
            sharded = sharding.measure(folder, couch, args.calls)
        with Redis(folder / "redis-claims") as redis:
            print("  conflicts: measuring", file=sys.stderr, flush=True)
            results = conflicts.run(redis.uri, sizes, counts, args.rate, args.placements)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print("throughput, blocking invokes of a warm no-op, same run, alternating chunks:")
    print(throughput_table(sides))
    print("CPU ms/inv: the controllers' own CPU per invoke (containers and Redis apart); "
          "CouchDB ms/inv: pouchdb-server's (one node process, the shared store); store "
          "req/inv: requests to the store per invoke (its request log); reads/inv: of them, "
          "reads of one document; Redis/inv: Redis "
          "commands per invoke; no cache: --no-read-cache (the action read from the store on "
          "every invoke, as before); ratios: 2 controllers / 1, read cache on / off")
    print("\nthe same clusters with the read cache, driven by wrk (a C load generator, nearly "
          "no client CPU), after the Python clients' chunks, the same connections:")
    print(wrk.table(driven, [(s.name, s.rate, pct(s.latencies, 50), pct(s.latencies, 99),
                              s.cpu_ms) for s in sides if s.name in WRK_CLUSTERS])
          if driven is not None else "wrk is not installed (apt-get install wrk): the "
          "Python clients' numbers above are the only ones")
    print("\nreal claims, 2 controllers each holding one device of the namespace, without "
          "and with --cluster-shard; queue: placement's queue_limit, the waiting slots a run "
          "placed knowingly on a peer's full device may claim (set-up in bench/_sharding.py):")
    print(sharding.table(sharded))
    print("\nplacement conflicts of optimistic claims (real Redis; model in bench/_conflicts.py):")
    print(conflicts_table(results))
    print("\n" + projection(sides, results))
    plot(sides, results, args.out)
    print(f"\nplot: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
