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

Durable acknowledgements (issue 16) are measured against the mode they replaced, in the same
run: a second controller started with ``--no-durable-ack`` (records written behind the
answers, nothing stored before a 202) takes the same blocking invokes, and both take
non-blocking ones (202 once accepted), in the same alternating chunks; the second table
prints p50/p99 and CPU per invoke of each, and the ratios durable / behind (the plot's third
panel: their p50s per level).

Metrics and placement explanations (issue 17) are measured against a third controller
started with ``--no-metrics --no-explain`` taking the same blocking invokes in the same
chunks: the third table prints p50 and CPU per invoke of both, and the CPU cost in percent
with its 95 % interval (the aim: under 5 %). Two controller processes' CPU per invoke drift
apart by more than that on a shared machine, so one ratio of two totals proves nothing:
each compared pair runs next to each other in every chunk, the order reversed every other
chunk (ABBA), and ``_paired.py`` bootstraps the interval over the chunks (``--chunks``,
default 40). Two processes of the same code differ by a few percent too, which no number of
chunks averages out: ``--pairs N`` runs N on/off pairs of controllers and pools them. The
same hooks are also timed in this process, on and off alternating (``_hooks.py``, a lower
bound), against the unobserved controller's CPU per invoke.

The hot path (issue 18) is measured against what it replaced, in the same run: a controller
on asyncio's own event loop (``--loop asyncio``; the default is uvloop) and, with
``--baseline REF``, the controller of git ref REF (``_versions.py``: its tree on PYTHONPATH)
take the same blocking invokes in the same chunks; the table prints p50/p99, CPU per
invoke and the ratios this checkout / the other, and the next the same comparison as paired
chunks with its interval, and, with ``--pairs`` 2 or more, this checkout against itself in
a second process: the size of a difference one process per side cannot resolve.

The floor (``_floor.py``): what no controller on this stack can avoid per blocking invoke,
each part measured bare in the same run (a bare aiohttp server's JSON exchange, a ``/run``
through the project's proxy client, a record's durable SQLite insert), alternating with the
controller's own blocking invokes; the last table prints each part's CPU per call, their sum,
the controller's CPU per invoke and the ratio controller / floor.

Prints a table (stdout; progress on stderr) and writes bench/out/controller.png.

    python bench/controller.py [--calls 2000] [--clients 1,4,16] [--chunks 40] [--pairs 1]
                               [--baseline REF]
    edgewhisk bench controller [--calls 2000] [--clients 1,4,16] [--chunks 40] [--pairs 1]
                               [--baseline REF]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import shutil
import statistics
import sys
import tempfile
import textwrap
from pathlib import Path

import _floor as floors  # bench/ is on sys.path (see _report.py)
import _hooks as hooks
import _versions as versions
from _compared import (
    AIM,
    UNOBSERVED,
    Durability,
    Level,
    cpu_ms,
    durability_table,
    observe_table,
    pair_names,
    plot,
    spread_table,
    table,
)
from _drive import Side, authorization, charged, drive, driven
from _paired import chunked
from _report import pct, progress
from edgewhisk_client import Client
from edgewhisk_devkit import UNLIMITED, Controller
from edgewhisk_runtime.local import LocalRuntime

OUT = Path(__file__).resolve().parent / "out"
NOOP = "def main(args):\n    return {}\n"
ACTION = {"exec": {"kind": "python:3", "code": NOOP},
          "limits": {"memory": 128, "concurrency": 1, "timeout": 60_000}}
WARMUP_PER_CLIENT = 50
CHUNKS = 40  # every side runs once in each of this many chunks per level (--chunks)
RUN_BODY = {"value": {}, "activation_id": "bench", "namespace": "guest",
            "action_name": "/guest/noop"}
PAGE = 200  # activations listed per request when the records are read back


def bench(controller: Controller, behind: Controller, plain: Controller, levels: list[Level],
          calls: int, others: dict[str, Controller] | None = None,
          chunks: int = CHUNKS) -> list[Durability]:
    """Create the no-op action; per level start the direct proxies, warm every side, then
    measure in alternating chunks (API, direct, the same against ``behind``, non-blocking on
    both, ...) so that all see the same machine load, and read the API side's records back.
    ``others``: more controllers taking the same blocking invokes, by side name (the
    versions table: another event loop, another git ref).

    The timed invokes go through aiohttp as the direct /run calls do (the same client code on
    both sides of the ratio); their URL and key are the REST client's."""
    auth = authorization(controller)
    compared = []
    with controller.client() as rest, behind.client() as other, plain.client() as unobserved:
        for client in (rest, other, unobserved):
            client.actions.put("noop", ACTION)
        blocking = {}  # the others' blocking invoke URLs
        for name, more in (others or {}).items():
            with more.client() as client:
                client.actions.put("noop", ACTION)
                blocking[name] = (client.url("actions/noop?blocking=true&result=true"), more.pid)
        invoke = rest.url("actions/noop?blocking=true&result=true")
        for level in levels:
            n_ = level.clients  # clients of this level
            with contextlib.ExitStack() as stack:
                runtimes = [stack.enter_context(LocalRuntime()) for _ in range(level.clients)]
                for runtime in runtimes:
                    status, body = runtime.init({"code": NOOP})
                    assert status == 200, body
                api = Side([invoke] * n_, {}, auth, pid=controller.pid)
                direct = Side([f"{runtime.url}/run" for runtime in runtimes], RUN_BODY, {})
                # in this order, each compared pair next to each other (paired chunks):
                # behind | durable = on | unobserved = off, then the same non-blocking
                durability = Durability(n_, {
                    "behind blocking": Side([other.url("actions/noop?blocking=true&result=true")]
                                            * n_, {}, auth, pid=behind.pid),
                    "durable blocking": api,
                    UNOBSERVED: Side([unobserved.url("actions/noop?blocking=true&result=true")]
                                     * n_, {}, auth, pid=plain.pid),
                    "behind non-blocking": Side([other.url("actions/noop")] * n_, {}, auth,
                                                pid=behind.pid, status=202, settle=True),
                    "durable non-blocking": Side([rest.url("actions/noop")] * n_, {}, auth,
                                                 pid=controller.pid, status=202, settle=True),
                    # the same non-blocking load as the controller above, so that both
                    # stores and journals grow alike: only metrics and explanations differ
                    "unobserved non-blocking": Side([unobserved.url("actions/noop")] * n_, {},
                                                    auth, pid=plain.pid, status=202,
                                                    settle=True),
                    **{name: Side([url] * n_, {}, auth, pid=pid)
                       for name, (url, pid) in blocking.items()}})
                named = {**durability.sides, "direct /run": direct}
                sides = list(named.values())
                print(f"{level.clients} client(s): warming {level.clients} container(s) "
                      f"and {level.clients} direct proxy(ies)", file=sys.stderr, flush=True)
                for side in sides:
                    asyncio.run(drive(side, WARMUP_PER_CLIENT * level.clients))
                    side.reset()
                # every other chunk in reverse (ABBA): on this machine the side that goes
                # first in a chunk pays ~5 % more CPU per invoke, whichever it is; each
                # pair of the tables ran next to each other in every chunk (_paired.py)
                chunked({name: functools.partial(driven, side) for name, side
                         in named.items()}, calls, max(level.clients, calls // chunks),
                        functools.partial(progress, f"{n_} client(s), API and direct",
                                          total=calls))
                level.cpu_ms = api.cpu_s * 1000 / calls
            level.api, level.api_s, level.ids = api.latencies, api.wall_s, api.ids
            level.direct, level.direct_s = direct.latencies, direct.wall_s
            durations = _durations(rest, len(level.ids))
            level.from_records = [latency - durations[i]
                                  for latency, i in zip(level.api, level.ids, strict=True)
                                  if i in durations]
            compared.append(durability)
    return compared


def floor(controller: Controller, calls: int, chunks: int, folder: Path) -> floors.Floor:
    """The floor's parts (``_floor.py``) and ``controller``'s blocking invokes of the no-op,
    ``calls`` each, in alternating chunks; the durable write's row is one of its records."""
    auth = authorization(controller)
    with controller.client() as rest:
        newest = rest.activations.list(limit=1)[0]["activationId"]
        record = json.dumps(rest.activations.get(newest))
        invoke = rest.url("actions/noop?blocking=true&result=true")
    with LocalRuntime() as runtime, floors.bare_server(folder) as (url, pid), \
            floors.durable_write(folder, record) as write:
        status, body = runtime.init({"code": NOOP})
        assert status == 200, body
        bare, api = Side([url], {}, auth, pid=pid), Side([invoke], {}, auth, pid=controller.pid)
        for side in (bare, api):
            asyncio.run(drive(side, WARMUP_PER_CLIENT))
        parts = {floors.CLIENT: lambda n: charged(bare, n),
                 floors.PROXY: floors.proxy_exchange(runtime.url, RUN_BODY),
                 floors.WRITE: write}
        print("the floor: its parts and the controller, alternating", file=sys.stderr)
        return floors.measure(parts, lambda n: charged(api, n), calls, chunks)


def _durations(rest: Client, count: int) -> dict[str, int]:
    """The ``duration`` of the newest ``count`` activations, by activation id."""
    found: dict[str, int] = {}
    for skip in range(0, count, PAGE):
        page = rest.activations.list(limit=PAGE, skip=skip)
        found.update({doc["activationId"]: doc["duration"] for doc in page})
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000,
                        help="measured invokes per level (default 2000)")
    parser.add_argument("--clients", default="1,4,16",
                        help="concurrency levels, comma-separated (default 1,4,16)")
    parser.add_argument("--pairs", type=int, default=1,
                        help="pairs of controllers, metrics and explanations on and off, whose "
                             "costs are pooled (default 1): two processes of the same code "
                             "differ by a few percent")
    parser.add_argument("--chunks", type=int, default=CHUNKS,
                        help=f"chunks per level: every side runs once in each, the order "
                             f"reversed every other one (default {CHUNKS})")
    parser.add_argument("--baseline", metavar="REF", default=None,
                        help="also run the controller of git ref REF (e.g. main) beside this "
                             "checkout's: the before/after of a change, in the same run")
    parser.add_argument("--out", type=Path, default=OUT / "controller.png", help="plot file")
    args = parser.parse_args(argv)
    levels = [Level(int(n)) for n in args.clients.split(",")]
    if args.calls < 1 or any(lv.clients < 1 for lv in levels):
        parser.error("--calls and every --clients level must be at least 1")
    if not 2 <= args.chunks <= args.calls // max(lv.clients for lv in levels):
        parser.error("--chunks must be at least 2 (an interval needs two paired chunks) and "
                     "at most --calls / the largest --clients level (a chunk has an invoke "
                     "per client)")
    if not 1 <= args.pairs <= MAX_PAIRS:
        parser.error(f"--pairs must be from 1 to {MAX_PAIRS}")
    if args.baseline and not versions.known(args.baseline):
        parser.error(f"--baseline: git knows no commit {args.baseline!r} in {versions.ROOT}")

    print(f"controller bench: {args.calls} blocking invokes per level, clients "
          f"{args.clients}", file=sys.stderr)
    load = os.getloadavg()
    data = Path(tempfile.mkdtemp(prefix="edgewhisk-bench-controller-"))
    try:
        with contextlib.ExitStack() as stack:
            others = {ASYNCIO: stack.enter_context(
                Controller(data / "asyncio", "--loop", "asyncio", *UNLIMITED,
                           log=data / "asyncio.log"))}
            if args.baseline:
                root = stack.enter_context(versions.tree(args.baseline))
                others[f"{args.baseline} (git ref)"] = stack.enter_context(Controller(
                    data / "ref", "--no-sandbox", *UNLIMITED, env=versions.environment(root),
                    log=data / "ref.log"))
            pairs = _pairs(stack, data, args.pairs)
            compared, floor_ = _run(data, levels, args.calls, {**others, **pairs},
                                    args.chunks)
    finally:
        shutil.rmtree(data, ignore_errors=True)
    _print(levels, compared, load, list(others), args.out, args.pairs)
    _print_floor(floor_)
    return 0


MAX_PAIRS = 4  # each pair adds two controllers; their costs fit in 120 columns


def _pairs(stack: contextlib.ExitStack, data: Path, pairs: int) -> dict[str, Controller]:
    """The on/off pairs beyond the first, by side name, each pair next to each other."""
    started: dict[str, Controller] = {}
    for i in range(2, pairs + 1):
        for observed, options in ((True, ()), (False, ("--no-metrics", "--no-explain"))):
            name = pair_names(i, observed)[-1]
            folder = f"{'observed' if observed else 'plain'}{i}"
            started[name] = stack.enter_context(Controller(
                data / folder, *options, *UNLIMITED, log=data / f"{folder}.log"))
    return started


ASYNCIO = "--loop asyncio"
"""The side of a controller on asyncio's own event loop (this checkout runs uvloop)."""


def _run(data: Path, levels: list[Level], calls: int, others: dict[str, Controller],
         chunks: int) -> tuple[list[Durability], floors.Floor]:
    """The three controllers of the durability and observability tables, and ``others``;
    then the floor beside the first controller."""
    with Controller(data / "controller", *UNLIMITED,
                    log=data / "controller.log") as controller, \
            Controller(data / "behind", "--no-durable-ack", *UNLIMITED,
                       log=data / "behind.log") as behind, \
            Controller(data / "plain", "--no-metrics", "--no-explain", *UNLIMITED,
                       log=data / "plain.log") as plain:
        print(f"controller pid {controller.pid} at {controller.api_host}; records behind "
              f"answers: pid {behind.pid} at {behind.api_host}", file=sys.stderr)
        compared = bench(controller, behind, plain, levels, calls, others, chunks)
        return compared, floor(controller, calls, chunks, data)


def _print(levels: list[Level], compared: list[Durability], load: tuple[float, float, float],
           others: list[str], out: Path, pairs: int = 1) -> None:
    """Every table, then the plot; each note wrapped to ``WIDTH`` columns."""
    print()
    print(table(levels))
    one = next((lv for lv in levels if lv.clients == 1), levels[0])
    overhead = pct(one.api, 50) - pct(one.direct, 50)
    verdict = "meets" if overhead < 2.0 else "MISSES"
    _note("API/s and /run/s: throughput; p50/p99 in ms; ovh = API - direct /run; rec = API - "
          "the record's duration (whole ms); ratio = API p50 / direct p50; CPU/inv = the "
          "controller's CPU ms per invoke (its containers not included)")
    _note(f"controller overhead at p50 with {one.clients} client(s): {overhead:.2f} ms "
          f"({verdict} the < 2 ms aim); {statistics.fmean(one.api):.2f} ms mean per invoke")
    _note("\ndurable acknowledgements (accepted before a 202, the record before a 200, group "
          "commit) against records written behind the answers (--no-durable-ack), same run:")
    print(durability_table(compared))
    _note("p50/p99: ms to the answer (200 with the record, or 202); CPU/inv: the controller's "
          "CPU ms per invoke, non-blocking ones until their activations finished; ratio: "
          "durable / behind; CPU cost: durable over behind" + PAIRED)
    _note(f"\nmetrics and placement explanations on (the controller above, and {pairs - 1} "
          f"more) against off (--no-metrics --no-explain, {pairs} controller(s)), blocking "
          "invokes, same run, pooled over the pairs:")
    print(observe_table(compared, pairs))
    _note("CPU cost: the extra controller CPU per invoke with them on" + PAIRED + "; aim: met "
          f"when the interval's upper end is under {AIM:.0f} %, missed when its lower end is "
          "above, not shown when it straddles the aim. The interval covers this run's chunks, "
          "not the spread between runs on a machine whose load moves (docs/hotpath.md)")
    cpu_off = min(cpu_ms(level.sides[UNOBSERVED]) for level in compared)
    _note(f"\nthe same hooks timed in this process (thread CPU, on and off alternating), "
          f"against the unobserved controller's lowest CPU/inv above ({cpu_off:.3f} ms):")
    print(hooks.table(cpu_off))
    _note("work: placing, recording the record's JSON (and with them on: the decision series, "
          "Engine.why, the record series); of CPU/inv: hooks / CPU per invoke. A lower bound: "
          "in a loop the hooks' code and data stay in the CPU's caches; in a running controller "
          "each runs once per invoke among its other work, about 3x dearer, and the larger "
          "record costs the store too (docs/hotpath.md)")
    _note("\nthis checkout (uvloop) against asyncio's own loop and the --baseline git ref, "
          "blocking invokes, same run (a ref runs with --no-sandbox: bench/_versions.py):")
    print(versions.table(compared, "durable blocking", others))
    _note("ratios: this checkout / the other controller (below 1: this checkout is faster or "
          "spends less CPU per invoke)")
    _note("\nthe same comparison as paired chunks: this checkout's extra CPU per blocking invoke "
          "over the other controller's" + PAIRED)
    print(spread_table(compared, others, pairs))
    _note("two processes of one tree differ by a few percent (the second process's row, with "
          "--pairs 2 or more): a difference no larger than that is not resolved by one process "
          "per side (docs/hotpath.md, sixth round)")
    _note(f"load average (1 min) before/after: {load[0]:.1f}/{os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPU(s): other processes share them")
    plot(levels, compared, out)
    print(f"plot: {out}")


def _print_floor(floor_: floors.Floor) -> None:
    """The floor's row (``_floor.py``) and what its columns are."""
    _note("\nthe floor of a blocking invoke on this stack, same run: each part bare, alternating "
          "with the controller's blocking invokes (1 client):")
    print(floors.table(floor_))
    _note("CPU ms per call: client exchange = a bare aiohttp server reading a JSON body and "
          "answering JSON (its process); proxy exchange = POST /run to a warm action proxy "
          "through proxy_http.py (this thread); durable write = a record's row inserted into "
          "SQLite, WAL, synchronous=NORMAL, a commit per write (this thread); the floor = "
          "their sum; controller = its CPU per blocking invoke in the same chunks")


WIDTH = 120
PAIRED = (" in percent, from the chunks both ran in, next to each other, the order reversed "
          "every other chunk, with its 95 % bootstrap interval over the chunks (bench/_paired.py)")


def _note(text: str) -> None:
    """Print ``text`` wrapped to ``WIDTH`` columns (a leading newline kept as a blank line)."""
    blank, text = text.startswith("\n"), text.lstrip("\n")
    print(("\n" if blank else "") + textwrap.fill(text, WIDTH))


if __name__ == "__main__":
    sys.exit(main())
