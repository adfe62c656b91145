"""Benchmark of the controller: blocking invokes of a warm no-op action through the API.

A real embedded controller (``edgewhisk controller --port 0``, started by ``edgewhisk_devkit``:
SQLite store, one local invoker on the process backend) gets a no-op python:3 action (through
``edgewhisk_client``); after a warm-up, N concurrent clients
(aiohttp, one kept-alive connection each) send ``POST .../actions/noop?blocking=true&result=true``
until ``--calls`` invokes are done, for each N in ``--clients``. Reported per level: throughput
and p50/p99 latency.

The controller's own overhead is measured against a side-by-side baseline in the same run: the
same no-op action on N action proxies of our runtime (``LocalRuntime``, what the process backend
starts as containers), driven directly with ``POST /run`` by the same aiohttp client code, in
chunks alternating with the API's so that both sides see the same machine load. So overhead =
API latency - direct /run latency (p50 and p99), and ratio = API p50 / direct p50.
A second estimate comes from the records: per activation, API latency minus the record's
``duration`` (the pool's /run time, whole milliseconds). A third does not depend on how loaded
the machine is: the controller process's CPU time per invoke (``/proc``, all its threads).
The issue's aim: overhead p50 under 2 ms on the embedded default.

Prints a table (stdout; progress on stderr) and writes bench/out/controller.png.

    python bench/controller.py [--calls 2000] [--clients 1,4,16]
    edgewhisk bench controller [--calls 2000] [--clients 1,4,16]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from _report import pct, progress  # bench/ is on sys.path (see _report.py)
from edgewhisk_client import Client
from edgewhisk_devkit import UNLIMITED, Controller
from edgewhisk_runtime.local import LocalRuntime

OUT = Path(__file__).resolve().parent / "out"
NOOP = "def main(args):\n    return {}\n"
ACTION = {"exec": {"kind": "python:3", "code": NOOP},
          "limits": {"memory": 128, "concurrency": 1, "timeout": 60_000}}
WARMUP_PER_CLIENT = 50
CHUNKS = 10  # API and direct calls alternate in this many chunks per level
RUN_BODY = {"value": {}, "activation_id": "bench", "namespace": "guest",
            "action_name": "/guest/noop"}
PAGE = 200  # activations listed per request when the records are read back


@dataclass
class Level:
    """One concurrency level: latencies (ms) through the API and directly, and the records."""

    clients: int
    api: list[float] = field(default_factory=list)
    api_s: float = 0.0  # wall time of the measured API calls
    direct: list[float] = field(default_factory=list)
    direct_s: float = 0.0
    ids: list[str] = field(default_factory=list)
    from_records: list[float] = field(default_factory=list)  # API latency - record duration
    cpu_ms: float = float("nan")  # the controller's CPU time per API invoke (all its threads)


@dataclass
class Side:
    """One side of the comparison: client i posts ``body`` to ``urls[i]``; samples grow."""

    urls: list[str]
    body: dict[str, Any]
    auth: aiohttp.BasicAuth | None
    latencies: list[float] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    def reset(self) -> None:
        """Forget the samples so far (the warm-up's)."""
        self.latencies, self.ids, self.wall_s = [], [], 0.0


async def drive(side: Side, calls: int) -> None:
    """``calls`` posts by ``len(side.urls)`` concurrent clients (one kept-alive connection
    each); their latencies (ms), ``X-OW-Activation-Id`` headers and wall time are added."""
    latencies: list[float] = []
    ids: list[str] = []
    remaining = calls

    async def client(url: str) -> None:
        nonlocal remaining
        connector = aiohttp.TCPConnector(limit=1)
        async with aiohttp.ClientSession(connector=connector, auth=side.auth) as session:
            while remaining > 0:
                remaining -= 1
                start = time.perf_counter()
                async with session.post(url, json=side.body) as response:
                    await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"{url}: HTTP {response.status}: "
                                           f"{await response.text()}")
                latencies.append((time.perf_counter() - start) * 1000)
                if "X-OW-Activation-Id" in response.headers:
                    ids.append(response.headers["X-OW-Activation-Id"])

    started = time.perf_counter()
    await asyncio.gather(*(client(url) for url in side.urls))
    side.wall_s += time.perf_counter() - started
    side.latencies += latencies
    side.ids += ids


def bench(controller: Controller, levels: list[Level], calls: int) -> None:
    """Create the no-op action; per level start the direct proxies, warm both sides, then
    measure in alternating chunks (API, direct, API, ...) so that both see the same machine
    load, and read the API side's records back.

    The timed invokes go through aiohttp as the direct /run calls do (the same client code on
    both sides of the ratio); their URL and key are the REST client's."""
    user, _, key = controller.auth.partition(":")
    auth = aiohttp.BasicAuth(user, key)
    with controller.client() as rest:
        rest.actions.put("noop", ACTION)
        invoke = rest.url("actions/noop?blocking=true&result=true")
        for level in levels:
            with contextlib.ExitStack() as stack:
                runtimes = [stack.enter_context(LocalRuntime()) for _ in range(level.clients)]
                for runtime in runtimes:
                    status, body = runtime.init({"code": NOOP})
                    assert status == 200, body
                api = Side([invoke] * level.clients, {}, auth)
                direct = Side([f"{runtime.url}/run" for runtime in runtimes], RUN_BODY, None)
                print(f"{level.clients} client(s): warming {level.clients} container(s) "
                      f"and {level.clients} direct proxy(ies)", file=sys.stderr, flush=True)
                for side in (api, direct):
                    asyncio.run(drive(side, WARMUP_PER_CLIENT * level.clients))
                    side.reset()
                chunk = max(level.clients, calls // CHUNKS)
                done = 0
                cpu_before = cpu_seconds(controller.pid)
                while done < calls:
                    n = min(chunk, calls - done)
                    for side in (api, direct):
                        asyncio.run(drive(side, n))
                    done += n
                    progress(f"{level.clients} client(s), API and direct", done, calls)
                level.cpu_ms = (cpu_seconds(controller.pid) - cpu_before) * 1000 / calls
            level.api, level.api_s, level.ids = api.latencies, api.wall_s, api.ids
            level.direct, level.direct_s = direct.latencies, direct.wall_s
            durations = _durations(rest, len(level.ids))
            level.from_records = [latency - durations[i]
                                  for latency, i in zip(level.api, level.ids, strict=True)
                                  if i in durations]


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all threads) of process ``pid`` so far (Linux ``/proc``).

    Why: on a shared, loaded machine latencies mostly measure waiting for a core; the CPU a
    controller spends per invoke does not depend on how many others compete for it.
    """
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _durations(rest: Client, count: int) -> dict[str, int]:
    """The ``duration`` of the newest ``count`` activations, by activation id."""
    found: dict[str, int] = {}
    for skip in range(0, count, PAGE):
        page = rest.activations.list(limit=PAGE, skip=skip)
        found.update({doc["activationId"]: doc["duration"] for doc in page})
    return found


def table(levels: list[Level]) -> str:
    head = (f"{'clients':>7} {'calls':>6} {'API/s':>8} {'API p50':>8} {'API p99':>8} "
            f"{'/run/s':>8} {'/run p50':>8} {'/run p99':>8} {'ovh p50':>8} {'ovh p99':>8} "
            f"{'rec p50':>8} {'ratio':>6} {'CPU/inv':>8}")
    lines = [head, "-" * len(head)]
    for lv in levels:
        lines.append(
            f"{lv.clients:>7} {len(lv.api):>6} {len(lv.api) / lv.api_s:>8.0f} "
            f"{pct(lv.api, 50):>8.2f} {pct(lv.api, 99):>8.2f} "
            f"{len(lv.direct) / lv.direct_s:>8.0f} {pct(lv.direct, 50):>8.2f} "
            f"{pct(lv.direct, 99):>8.2f} {pct(lv.api, 50) - pct(lv.direct, 50):>8.2f} "
            f"{pct(lv.api, 99) - pct(lv.direct, 99):>8.2f} "
            f"{pct(lv.from_records, 50) if lv.from_records else float('nan'):>8.2f} "
            f"{pct(lv.api, 50) / pct(lv.direct, 50):>6.1f} {lv.cpu_ms:>8.2f}")
    return "\n".join(lines)


def plot(levels: list[Level], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (cdf_ax, bar_ax) = plt.subplots(1, 2, figsize=(12, 4.5))
    for lv, color in zip(levels, ("tab:blue", "tab:orange", "tab:green", "tab:red"),
                         strict=False):
        for samples, style, label in ((lv.api, "-", "API"), (lv.direct, "--", "direct /run")):
            ordered = sorted(samples)
            cdf_ax.plot(ordered, [i / len(ordered) for i in range(len(ordered))], style,
                        color=color, label=f"{label}, {lv.clients} client(s)")
    cdf_ax.set_xscale("log")
    cdf_ax.set_xlabel("latency (ms, log scale)")
    cdf_ax.set_ylabel("fraction of calls")
    cdf_ax.set_title("warm no-op: blocking invoke vs direct /run")
    cdf_ax.legend(fontsize=7)
    cdf_ax.grid(True, alpha=0.3)
    xs = range(len(levels))
    bar_ax.bar([x - 0.2 for x in xs], [pct(lv.api, 50) - pct(lv.direct, 50) for lv in levels],
               0.4, label="p50 (API - direct)")
    bar_ax.bar([x + 0.2 for x in xs],
               [pct(lv.from_records, 50) if lv.from_records else 0 for lv in levels], 0.4,
               label="p50 (API - record duration)")
    bar_ax.axhline(2.0, color="black", linestyle="--", label="aim: 2 ms")
    bar_ax.set_xticks(list(xs), [f"{lv.clients} client(s)" for lv in levels])
    bar_ax.set_ylabel("controller overhead (ms)")
    bar_ax.set_title("the controller's own overhead")
    bar_ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000,
                        help="measured invokes per level (default 2000)")
    parser.add_argument("--clients", default="1,4,16",
                        help="concurrency levels, comma-separated (default 1,4,16)")
    parser.add_argument("--out", type=Path, default=OUT / "controller.png", help="plot file")
    args = parser.parse_args(argv)
    levels = [Level(int(n)) for n in args.clients.split(",")]
    if args.calls < 1 or any(lv.clients < 1 for lv in levels):
        parser.error("--calls and every --clients level must be at least 1")

    print(f"controller bench: {args.calls} blocking invokes per level, clients "
          f"{args.clients}", file=sys.stderr)
    load = os.getloadavg()
    data = Path(tempfile.mkdtemp(prefix="edgewhisk-bench-controller-"))
    try:
        with Controller(data / "controller", *UNLIMITED,
                        log=data / "controller.log") as controller:
            print(f"controller pid {controller.pid} at {controller.api_host}", file=sys.stderr)
            bench(controller, levels, args.calls)
    finally:
        shutil.rmtree(data, ignore_errors=True)

    print()
    print(table(levels))
    one = next((lv for lv in levels if lv.clients == 1), levels[0])
    overhead = pct(one.api, 50) - pct(one.direct, 50)
    verdict = "meets" if overhead < 2.0 else "MISSES"
    print("\nAPI/s and /run/s: throughput; p50/p99 in ms; ovh = API - direct /run; rec = API - "
          "the record's duration (whole ms); ratio = API p50 / direct p50; CPU/inv = the "
          "controller's CPU ms per invoke (its containers not included)")
    print(f"controller overhead at p50 with {one.clients} client(s): {overhead:.2f} ms "
          f"({verdict} the < 2 ms aim); {statistics.fmean(one.api):.2f} ms mean per invoke")
    print(f"load average (1 min) before/after: {load[0]:.1f}/{os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPU(s): other processes share them")
    plot(levels, args.out)
    print(f"plot: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
