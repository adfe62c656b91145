"""Benchmark of the action runtime: warm /run round trip and cold /init.

Warm: a no-op action answered through the proxy (HTTP on a kept-alive connection, the
middleware pipeline, the action process's pipes), p50/p99 over ``--calls`` calls, against two
baselines without HTTP: the same launcher process driven directly over its pipes (what the
action itself costs), and the proxy's own ActionProcess on asyncio (the pipeline's endpoint).
Proxy overhead = proxy p50 - direct p50; the issue's target is < 1 ms.

Cold: /init of a zip action (``__main__.py`` plus a helper module) on a fresh proxy, p50 over
``--inits`` runs (the proxy start itself is not timed).

Sandbox: a warm no-op activation through the container pool (``ContainerPool.run`` on the
process backend: HTTP, the pipeline, log cutting) with each proxy in its bubblewrap sandbox and
without it, side by side in the same run (``--pool-calls`` each, the two pools called in turn so
that the machine's load weighs on both alike), and a cold start of each (a new container: its
start, then /init, then /run); the ratios sandboxed / unsandboxed are printed.

Prints a table and writes bench/out/runtime.png.

    python bench/runtime.py [--calls 10000] [--inits 20] [--pool-calls 2000]
    edgewhisk bench runtime [--calls 10000] [--inits 20] [--pool-calls 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from _paired import plan  # bench/ is on sys.path (see _report.py)
from _report import cdf, cdf_axes, pct, progress, save
from edgewhisk_runtime.containers import ActionSpec, ContainerPool, ProcessBackend
from edgewhisk_runtime.local import LocalRuntime
from edgewhisk_runtime.process import ActionProcess, child_environment

OUT = Path(__file__).resolve().parent / "out"
NOOP = "def main(args):\n    return {}\n"
WARMUP = 200
# the line the proxy sends the action process for a no-op activation (Activation.message())
MESSAGE = {"value": {}, "env": {"__OW_ACTIVATION_ID": "bench"}, "consumes": [],
           "produces": [], "outbox": None, "cpu_s": None}


class RawClient:
    """A kept-alive HTTP/1.1 client over one socket: the least client cost per request, so the
    round trip measures the proxy rather than the client library."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def post(self, request: bytes) -> tuple[int, dict[str, str], bytes]:
        self.sock.sendall(request)
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self.sock.recv(65536)
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.split(": ", 1) for line in lines[1:])
        length = int(headers.get("Content-Length", "0"))
        while len(self.buffer) < length:
            self.buffer += self.sock.recv(65536)
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return int(lines[0].split()[1]), headers, body

    def close(self) -> None:
        self.sock.close()


def bench_proxy(calls: int) -> tuple[list[float], list[float]]:
    """Round trips (ms) of POST /run through a local proxy, and its in-pipeline times (ms)."""
    with LocalRuntime() as rt:
        status, body = rt.init({"code": NOOP})
        assert status == 200, body
        client = RawClient(rt.host, rt.port)
        payload = json.dumps({"value": {}, "activation_id": "bench"}).encode()
        request = (f"POST /run HTTP/1.1\r\nHost: {rt.host}:{rt.port}\r\n"
                   "Content-Type: application/json\r\n"
                   f"Content-Length: {len(payload)}\r\n\r\n").encode() + payload
        rtts, inside = [], []
        for i in range(WARMUP + calls):
            start = time.perf_counter()
            status, headers, _ = client.post(request)
            elapsed = (time.perf_counter() - start) * 1000
            assert status == 200
            if i >= WARMUP:
                rtts.append(elapsed)
                inside.append(float(headers.get("X-Edgewhisk-Run-Ms", "nan")))
                progress("proxy /run", i - WARMUP + 1, calls)
        client.close()
    return rtts, inside


def _action_dir(root: Path) -> Path:
    action = root / "action"
    action.mkdir()
    (action / "__main__.py").write_text(NOOP)
    return action


def bench_direct(calls: int) -> list[float]:
    """Round trips (ms) of the launcher driven over its pipes, synchronously, no HTTP."""
    root = Path(tempfile.mkdtemp(prefix="edgewhisk-bench-"))
    action = _action_dir(root)
    req_r, req_w = os.pipe()
    rep_r, rep_w = os.pipe()
    child = subprocess.Popen(
        [sys.executable, "-m", "edgewhisk_runtime.launcher", str(action), "main",
         str(req_r), str(rep_w)], pass_fds=(req_r, rep_w), cwd=action,
        env=child_environment({}), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    os.close(req_r)
    os.close(rep_w)
    requests, replies = os.fdopen(req_w, "wb", 0), os.fdopen(rep_r, "rb")
    try:
        assert json.loads(replies.readline())["ok"]
        line = json.dumps(MESSAGE).encode() + b"\n"
        samples = []
        for i in range(WARMUP + calls):
            start = time.perf_counter()
            requests.write(line)
            json.loads(replies.readline())
            elapsed = (time.perf_counter() - start) * 1000
            if i >= WARMUP:
                samples.append(elapsed)
                progress("direct pipes", i - WARMUP + 1, calls)
    finally:
        requests.close()
        child.wait(10)
        replies.close()
        shutil.rmtree(root, ignore_errors=True)
    return samples


async def _bench_endpoint(calls: int) -> list[float]:
    root = Path(tempfile.mkdtemp(prefix="edgewhisk-bench-"))
    process = ActionProcess(_action_dir(root), "main", child_environment({}))
    await process.start()
    samples = []
    try:
        for i in range(WARMUP + calls):
            start = time.perf_counter()
            await process.call(MESSAGE, None)
            elapsed = (time.perf_counter() - start) * 1000
            if i >= WARMUP:
                samples.append(elapsed)
                progress("ActionProcess (asyncio)", i - WARMUP + 1, calls)
    finally:
        await process.kill()
        shutil.rmtree(root, ignore_errors=True)
    return samples


def zip_action() -> str:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("__main__.py", "from helper import answer\n\ndef main(args):\n"
                                  "    return {'answer': answer()}\n")
        z.writestr("helper.py", "def answer():\n    return 42\n")
        z.writestr("data/readme.txt", "bench data file\n" * 100)
    return base64.b64encode(buf.getvalue()).decode()


def bench_cold_init(inits: int) -> list[float]:
    """/init of a zip action on a fresh proxy each time (ms); the proxy start is not timed."""
    code = zip_action()
    samples = []
    for i in range(inits):
        with LocalRuntime() as rt:
            start = time.perf_counter()
            status, body = rt.init({"code": code, "binary": True})
            samples.append((time.perf_counter() - start) * 1000)
            assert status == 200, body
            assert rt.run({}) == (200, {"answer": 42})
        progress("cold /init (zip)", i + 1, inits)
    return samples


Samples = dict[bool, list[float]]
"""Milliseconds per call, by sandboxed (True) or not (False)."""


async def _bench_pool(calls: int, colds: int) -> tuple[Samples, Samples]:
    """(warm round trips, cold starts) in ms through two pools on the process backend, one
    sandboxed and one not, called in turn (one call each, alternately): a shared machine's
    load then weighs on both alike, where two runs one after the other measured the load."""
    boxed = ProcessBackend()
    if boxed.sandbox is None:
        raise SystemExit(f"no sandbox here: {boxed.unsandboxed}")
    pools = {True: ContainerPool(boxed, memory_mb=4096, idle_timeout_s=3600),
             False: ContainerPool(ProcessBackend(sandbox=None), memory_mb=4096,
                                  idle_timeout_s=3600)}
    fields = {"activation_id": "bench", "namespace": "bench"}
    warm: Samples = {True: [], False: []}
    cold: Samples = {True: [], False: []}

    async def timed(sandboxed: bool, key: str) -> float:
        start = time.perf_counter()
        outcome = await pools[sandboxed].run(_pool_spec(key), {}, fields)
        assert outcome.status == 200, outcome
        return (time.perf_counter() - start) * 1000

    try:
        for i in range(colds):  # a new key each time: a new container
            for sandboxed in (True, False):
                cold[sandboxed].append(await timed(sandboxed, f"bench/cold{i}@0.0.1"))
        for made, runs in plan(("plain", "sandboxed"), WARMUP + calls, 1):
            i = made - 1
            for name, _ in runs:
                sandboxed = name == "sandboxed"
                elapsed = await timed(sandboxed, "bench/warm@0.0.1")
                if i >= WARMUP:
                    warm[sandboxed].append(elapsed)
            if i >= WARMUP:
                progress("pool /run, sandboxed and not, in turn", i - WARMUP + 1, calls)
        return warm, cold
    finally:
        for pool in pools.values():
            await pool.close()


def _pool_spec(key: str) -> ActionSpec:
    return ActionSpec(key=key, kind="python:3", code=NOOP, binary=False, main="main",
                      image=None, env={}, memory_mb=256, timeout_ms=60_000, concurrency=1)


def plot(rows: dict[str, list[float]], cold: list[float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (warm_ax, cold_ax) = plt.subplots(1, 2, figsize=(12, 4.5))
    for label, samples in rows.items():
        cdf(warm_ax, samples, label=label)
    cdf_axes(warm_ax, "round trip (ms, log scale)", "warm no-op activation", legend_size=8)
    cold_ax.bar(range(len(cold)), cold, color="tab:orange")
    cold_ax.axhline(statistics.median(cold), color="black", linestyle="--",
                    label=f"p50 {statistics.median(cold):.0f} ms")
    cold_ax.set_xlabel("run")
    cold_ax.set_ylabel("/init (ms)")
    cold_ax.set_title("cold /init of a zip action")
    cold_ax.legend()
    fig.tight_layout()
    save(fig, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=10_000, help="warm calls (default 10000)")
    parser.add_argument("--inits", type=int, default=20, help="cold inits (default 20)")
    parser.add_argument("--pool-calls", type=int, default=2000,
                        help="warm calls through the pool, sandboxed and not (default 2000)")
    parser.add_argument("--out", type=Path, default=OUT / "runtime.png", help="plot file")
    args = parser.parse_args(argv)

    print(f"runtime bench: {args.calls} warm calls, {args.inits} cold inits", file=sys.stderr)
    direct = bench_direct(args.calls)
    endpoint = asyncio.run(_bench_endpoint(args.calls))
    proxy, inside = bench_proxy(args.calls)
    cold = bench_cold_init(args.inits)
    colds = max(1, args.inits // 2)
    warm, starts = asyncio.run(_bench_pool(args.pool_calls, colds))
    bare, boxed, bare_cold, boxed_cold = warm[False], warm[True], starts[False], starts[True]

    rows = {"direct pipes (no HTTP)": direct, "ActionProcess on asyncio (no HTTP)": endpoint,
            "pipeline inside the proxy": inside, "POST /run through the proxy": proxy,
            "pool /run, unsandboxed": bare, "pool /run, bubblewrap sandbox": boxed}
    print()
    print(f"{'measure':<38} {'n':>6} {'p50 ms':>9} {'p99 ms':>9} {'mean ms':>9}")
    for label, samples in rows.items():
        print(f"{label:<38} {len(samples):>6} {pct(samples, 50):>9.3f} {pct(samples, 99):>9.3f}"
              f" {statistics.fmean(samples):>9.3f}")
    print(f"{'cold /init of a zip action':<38} {len(cold):>6} {pct(cold, 50):>9.1f}"
          f" {pct(cold, 99):>9.1f} {statistics.fmean(cold):>9.1f}")
    overhead = pct(proxy, 50) - pct(direct, 50)
    verdict = "meets" if overhead < 1.0 else "MISSES"
    print(f"\nproxy overhead at p50 (proxy - direct): {overhead:.3f} ms "
          f"({verdict} the < 1 ms target)")
    for label, samples in (("pool cold start, unsandboxed", bare_cold),
                           ("pool cold start, bubblewrap sandbox", boxed_cold)):
        print(f"{label:<38} {len(samples):>6} {pct(samples, 50):>9.1f}"
              f" {pct(samples, 99):>9.1f} {statistics.fmean(samples):>9.1f}")
    print(f"sandboxed / unsandboxed through the pool: warm p50 x"
          f"{pct(boxed, 50) / pct(bare, 50):.2f}, warm p99 x{pct(boxed, 99) / pct(bare, 99):.2f}, "
          f"cold p50 x{pct(boxed_cold, 50) / pct(bare_cold, 50):.2f}")
    plot(rows, cold, args.out)
    print(f"plot: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
