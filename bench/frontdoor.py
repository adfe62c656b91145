"""Benchmark of OpenWhisk's front door: what packages, sequences, web actions and routes cost.

A real embedded controller (``edgewhisk controller --port 0`` through ``edgewhisk_devkit``:
SQLite, one local invoker on the process backend, the per-namespace limits lifted) gets one
no-op python:3 action in several places, and every way of reaching it is timed side by side
in one run, in rounds that alternate between the ways so that all of them see the same
machine load:

===================== =====================================================================
``direct``            ``POST actions/noop?blocking=true`` (the baseline)
``package``           the same code as ``pkg/noop`` (the package read and its parameters
                      merged)
``binding``           ``bound/noop`` through a binding of that package
``shared``            another namespace's published package, through its binding
``web``               ``GET /api/v1/web/guest/default/web-noop.json`` (no key)
``route``             the same web action through a route, ``/api/gw/guest/bench/noop``
``sequence of N``     a sequence of N no-op components (one activation each), against N
                      direct invokes in a row from the client (``N direct``)
===================== =====================================================================

Reported per way: p50 and p99 latency (ms) and the ratio of its p50 to the baseline's (a
sequence of N to N direct invokes), so the ratios, not the absolute numbers, are what to
compare across machines. Prints a table, writes ``bench/out/frontdoor.png`` (``--out``), and
``--json`` prints the numbers instead.

    python bench/frontdoor.py [--rounds 200] [--lengths 1,2,4] [--quick] [--json]
    edgewhisk bench frontdoor [--rounds 200] [--lengths 1,2,4] [--quick] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from _report import outputs, pct, progress  # bench/ is on sys.path (see _report.py)
from edgewhisk_client import Client
from edgewhisk_devkit import UNLIMITED, Controller, edgewhisk_command

NOOP = "def main(args):\n    return {'ok': True}\n"
WEB = [{"key": "web-export", "value": True}]
WARMUP = 5


def _action(**fields: Any) -> dict[str, Any]:
    return {"exec": {"kind": "python:3", "code": NOOP}, **fields}


def deploy(guest: Client, other: Client, lengths: list[int]) -> None:
    """The no-op action in every place a way reaches it."""
    guest.actions.put("noop", _action())
    guest.request("PUT", "packages/pkg?overwrite=true", json={
        "parameters": [{"key": "from", "value": "package"}]})
    guest.actions.put("pkg/noop", _action())
    guest.request("PUT", "packages/bound?overwrite=true", json={
        "binding": {"namespace": "_", "name": "pkg"},
        "parameters": [{"key": "from", "value": "binding"}]})
    other.request("PUT", "packages/lib?overwrite=true", json={"publish": True})
    other.actions.put("lib/noop", _action())
    guest.request("PUT", "packages/theirs?overwrite=true",
                  json={"binding": {"namespace": "bench-other", "name": "lib"}})
    guest.actions.put("web-noop", _action(annotations=WEB))
    apidoc = {"namespace": "_", "gatewayBasePath": "/bench", "gatewayPath": "/noop",
              "gatewayMethod": "GET", "action": {
                  "name": "web-noop", "namespace": "_", "backendMethod": "GET",
                  "backendUrl": f"{guest.api_host}/api/v1/web/guest/default/web-noop.json",
                  "authkey": guest.auth}}
    guest.call("POST", "/api/v1/web/whisk.system/apimgmt/createApi", json={"apidoc": apidoc})
    for n in lengths:
        guest.actions.put(f"seq-{n}", {"exec": {"kind": "sequence",
                                                "components": ["/_/noop"] * n}})


Call = Callable[[], Awaitable[None]]


def ways(guest: Client, session: aiohttp.ClientSession, lengths: list[int]) -> dict[str, Call]:
    """Each way of reaching the action, as one call that must succeed (aiohttp, one kept-alive
    connection: a client that sends a request in two packets would measure delayed ACKs)."""
    basic = base64.b64encode((guest.auth or "").encode()).decode()
    headers = {"Authorization": f"Basic {basic}"}  # aiohttp's BasicAuth is deprecated
    api = f"{guest.api_host}/api/v1/namespaces/_/actions"

    def post(url: str) -> Call:
        async def call() -> None:
            async with session.post(url, params={"blocking": "true"}, json={},
                                    headers=headers) as response:
                response.raise_for_status()
                await response.read()
        return call

    def get(url: str) -> Call:
        async def call() -> None:
            async with session.get(url) as response:
                response.raise_for_status()
                await response.read()
        return call

    out = {"direct": post(f"{api}/noop"), "package": post(f"{api}/pkg/noop"),
           "binding": post(f"{api}/bound/noop"), "shared": post(f"{api}/theirs/noop"),
           "web": get(f"{guest.api_host}/api/v1/web/guest/default/web-noop.json"),
           "route": get(f"{guest.api_host}/api/gw/guest/bench/noop")}
    for n in lengths:
        out[f"sequence of {n}"] = post(f"{api}/seq-{n}")
        out[f"{n} direct"] = _repeat(out["direct"], n)
    return out


def _repeat(call: Call, n: int) -> Call:
    async def calls() -> None:
        for _ in range(n):
            await call()
    return calls


async def measure(guest: Client, lengths: list[int], rounds: int) -> dict[str, list[float]]:
    """Latencies (ms) per way: every round calls each way once, in turn."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        calls = ways(guest, session, lengths)
        for call in calls.values():
            for _ in range(WARMUP):
                await call()
        samples: dict[str, list[float]] = {name: [] for name in calls}
        for i in range(rounds):
            for name, call in calls.items():
                started = time.perf_counter()
                await call()
                samples[name].append((time.perf_counter() - started) * 1000)
            progress("rounds", i + 1, rounds)
    return samples


def summarise(samples: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    """p50, p99 and the ratio of p50 to its baseline (``direct``; ``N direct`` for a
    sequence of N)."""
    out = {}
    for name, values in samples.items():
        base = f"{name.split()[-1]} direct" if name.startswith("sequence") else "direct"
        out[name] = {"p50_ms": pct(values, 50), "p99_ms": pct(values, 99),
                     "ratio": pct(values, 50) / pct(samples[base], 50)}
    return out


def table(summary: dict[str, dict[str, float]]) -> str:
    lines = [f"{'way':<16} {'p50 ms':>8} {'p99 ms':>8} {'p50 / baseline':>15}"]
    for name, row in summary.items():
        lines.append(f"{name:<16} {row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f} "
                     f"{row['ratio']:>15.2f}")
    return "\n".join(lines)


def plot(summary: dict[str, dict[str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(summary)
    fig, ax = plt.subplots(figsize=(10, 4.5))
    ax.bar(names, [summary[n]["p50_ms"] for n in names], color="tab:blue", label="p50")
    ax.scatter(names, [summary[n]["p99_ms"] for n in names], color="tab:red", label="p99",
               zorder=3)
    ax.set_ylabel("latency of one call (ms)")
    ax.set_title("one no-op action reached through the front door's ways")
    ax.tick_params(axis="x", rotation=30)
    ax.legend()
    ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def run(rounds: int, lengths: list[int]) -> dict[str, dict[str, float]]:
    folder = Path(tempfile.mkdtemp(prefix="edgewhisk-bench-frontdoor-"))
    try:
        with Controller(folder / "data", *UNLIMITED).start() as controller:  # no 429s
            key = subprocess.run(edgewhisk_command(
                "controller", "namespace", "create", "bench-other", "--data",
                str(folder / "data")), capture_output=True, text=True, check=True).stdout.strip()
            with controller.client() as guest, controller.client(key) as other:
                deploy(guest, other, lengths)
                return summarise(asyncio.run(measure(guest, lengths, rounds)))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=200, help="calls of each way (200)")
    parser.add_argument("--lengths", default="1,2,4", help="sequence lengths (1,2,4)")
    outputs(parser, "frontdoor", quick="20 rounds, lengths 1,2")
    args = parser.parse_args(argv)
    rounds = 20 if args.quick else args.rounds
    lengths = [1, 2] if args.quick else [int(n) for n in args.lengths.split(",")]
    summary = run(rounds, lengths)
    plot(summary, args.out)
    print(json.dumps(summary) if args.json else table(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
