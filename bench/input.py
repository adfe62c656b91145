"""Benchmark of input validation: what the strict reader and the checks cost, and what a refusal
costs, each against its baseline in the same run.

- **reader**: every request body, tunnel frame and action answer is read by ``edgewhisk_json``
  (standard JSON only, depth and number limits) instead of ``json.loads``. Per body kind (a
  small invoke, 1 MiB of strings, numbers or objects, a 48 MB action's code, a heartbeat and a
  1 MiB result frame), the median time of both readers, alternating, and their ratio. The
  machine's load moves the absolute numbers; the ratios are what to read.
- **controller**: through a real controller (``edgewhisk_devkit``, the embedded default, its
  per-namespace limits lifted), the median latency of a valid blocking invoke of a warm no-op
  action, of the same invoke with a 1 MiB payload (read, merged with the action's parameters
  and checked), and of refusals that once were 5xx or ran the action: NaN, nesting 100,000
  deep, a 5,000-digit integer, a payload over 1 MiB; each as a ratio to the valid invoke. A
  refusal starts nothing, so it should cost less than an invoke.

Prints both tables (stdout; progress on stderr; ``--json``: one JSON document on stdout) and
writes bench/out/input.png.

    python bench/input.py [--repeat 15] [--calls 40] [--quick] [--json]
    edgewhisk bench input [--repeat 15] [--calls 40] [--quick] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import edgewhisk_json
from _report import outputs, progress, save  # bench/ is on sys.path (see _report.py)
from edgewhisk_client import Client
from edgewhisk_devkit import UNLIMITED, Controller
from edgewhisk_tunnel import Heartbeat, Outcome, Result, encode

NOOP = "def main(args):\n    return {}\n"
MIB = 1024 * 1024


def bodies(code_mb: int) -> dict[str, str]:
    """The texts the reader is timed on, by kind (the action's code: ``code_mb`` MB)."""
    result = Result("a" * 32, outcome=Outcome(
        status=200, response={"rows": [{"id": i, "score": i / 7, "label": f"l{i}"}
                                       for i in range(15_000)]},
        logs=(), init_failed=False, init_ms=None, duration_ms=3, container_id="c"))
    return {
        "small invoke": json.dumps({"user": "u1", "threshold": 0.8, "tags": ["a", "b"]}),
        "1 MiB of strings": json.dumps({"text": ["x" * 1000] * (MIB // 1010)}),
        "1 MiB of numbers": json.dumps({"values": [i * 1.5 for i in range(MIB // 12)]}),
        "1 MiB of objects": json.dumps({"rows": [{"id": i, "ok": True} for i in range(MIB // 22)]}),
        f"{code_mb} MB action code": json.dumps(
            {"exec": {"kind": "python:3", "code": "x = 1\n" * (code_mb * 10**6 // 6)}}),
        "heartbeat frame": encode(Heartbeat(seq=1, sent_ms=1)),
        "1 MiB result frame": encode(result),
    }


def median_ms(read: Callable[[str], Any], text: str, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        read(text)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def reader_rows(repeat: int, code_mb: int) -> list[dict[str, Any]]:
    rows = []
    kinds = bodies(code_mb)
    for n, (kind, text) in enumerate(kinds.items(), 1):
        times = repeat if len(text) < MIB else max(3, repeat // 5)
        std, strict = [], []
        for _ in range(3):  # alternate, so both see the same machine load
            std.append(median_ms(json.loads, text, times))
            strict.append(median_ms(edgewhisk_json.loads, text, times))
        rows.append({"body": kind, "bytes": len(text.encode()),
                     "json_ms": statistics.median(std), "strict_ms": statistics.median(strict),
                     "ratio": statistics.median(strict) / statistics.median(std)})
        progress("reader", n, len(kinds))
    return rows


REFUSALS: dict[str, tuple[bytes, int]] = {
    "NaN in the parameters": (b'{"a": NaN}', 400),
    "nesting 100,000 deep": (b"[" * 100_000 + b"]" * 100_000, 400),
    "a 5,000-digit integer": (b'{"a": ' + b"7" * 5000 + b"}", 400),
    "a payload over 1 MiB": (json.dumps({"a": "x" * MIB}).encode(), 413),
}


def controller_rows(calls: int, workdir: Path) -> list[dict[str, Any]]:
    with Controller(workdir / "controller", *UNLIMITED, "--log-level", "WARNING",
                    log=workdir / "controller.log") as controller, \
            controller.client() as client:
        client.actions.put("noop", {"exec": {"kind": "python:3", "code": NOOP}})
        path = "actions/noop?blocking=true&result=true"
        cases: dict[str, tuple[bytes, int]] = {
            "valid invoke": (b'{"a": 1}', 200),
            "valid invoke, 1 MiB payload": (json.dumps({"a": "x" * (MIB - 64)}).encode(), 200),
            **REFUSALS,
        }
        for _ in range(5):  # warm container, warm connection
            _send(client, path, b"{}", 200)
        times: dict[str, list[float]] = {case: [] for case in cases}
        for n in range(calls):  # round robin: every case sees the same load
            for case, (body, status) in cases.items():
                started = time.perf_counter()
                _send(client, path, body, status)
                times[case].append((time.perf_counter() - started) * 1000)
            progress("controller", n + 1, calls)
        records = client.request("GET", "activations", params={"limit": "0", "count": "true"})
        ran = records.json()["activations"]
    base = statistics.median(times["valid invoke"])
    rows = [{"request": case, "status": cases[case][1], "p50_ms": statistics.median(t),
             "ratio": statistics.median(t) / base} for case, t in times.items()]
    expected = 5 + 2 * calls  # the warm-up and the valid invokes: no refusal ran anything
    if ran != expected:
        raise RuntimeError(f"{ran} activations were recorded, {expected} expected")
    return rows


def _send(client: Client, path: str, body: bytes, status: int) -> None:
    response = client.request("POST", path, data=body,
                              headers={"Content-Type": "application/json"})
    if response.status_code != status:
        raise RuntimeError(f"{path}: {response.status_code} {response.text[:200]}, "
                           f"expected {status}")


def table(rows: list[dict[str, Any]], columns: list[tuple[str, str, str]]) -> str:
    lines = ["  ".join(f"{title:>{width}}" if i else f"{title:<{width}}"
                       for i, (title, _, width) in enumerate(
                           (t, k, w.split(":")[0]) for t, k, w in columns))]
    for row in rows:
        cells = []
        for i, (_, key, fmt) in enumerate(columns):
            width, _, spec = fmt.partition(":")
            text = format(row[key], spec)
            cells.append(f"{text:>{width}}" if i else f"{text:<{width}}")
        lines.append("  ".join(cells))
    return "\n".join(lines)


def plot(reader: list[dict[str, Any]], controller: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    left.barh([r["body"] for r in reader], [r["ratio"] for r in reader], color="tab:blue")
    left.axvline(1.0, color="grey", linewidth=0.8)
    left.set_xlabel("strict reader time / json.loads time")
    left.set_title("reading a body")
    right.barh([r["request"] for r in controller], [r["ratio"] for r in controller],
               color=["tab:green" if r["status"] == 200 else "tab:red" for r in controller])
    right.axvline(1.0, color="grey", linewidth=0.8)
    right.set_xlabel("p50 latency / a valid small invoke's")
    right.set_title("through the controller")
    fig.tight_layout()
    save(fig, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=15, help="reads per body and reader")
    parser.add_argument("--calls", type=int, default=40, help="requests per controller case")
    outputs(parser, "input",
            quick="--repeat 3 --calls 4, and 4 MB of action code instead of 48")
    args = parser.parse_args(argv)
    repeat, calls, code_mb = (3, 4, 4) if args.quick else (args.repeat, args.calls, 48)
    reader = reader_rows(repeat, code_mb)
    workdir = Path(tempfile.mkdtemp(prefix="edgewhisk-bench-input-"))
    try:
        controller = controller_rows(calls, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    plot(reader, controller, args.out)
    if args.json:
        print(json.dumps({"reader": reader, "controller": controller, "plot": str(args.out)}))
        return 0
    print("Reading a body: json.loads against the strict reader (median of each)\n")
    print(table(reader, [("body", "body", "20"), ("bytes", "bytes", "10:,d"),
                         ("json ms", "json_ms", "9:.3f"), ("strict ms", "strict_ms", "10:.3f"),
                         ("ratio", "ratio", "6:.2f")]))
    print("\nThrough the controller: p50 latency, as a ratio to a valid small invoke\n")
    print(table(controller, [("request", "request", "28"), ("status", "status", "6:d"),
                             ("p50 ms", "p50_ms", "8:.2f"), ("ratio", "ratio", "6:.2f")]))
    print(f"\nplot: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
