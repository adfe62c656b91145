"""Benchmark of devices working offline: the local invoke API against the tunnel, the sync of
records made offline, and the field technicians' vision model on one core.

- **round trips**: a real controller and a real agent (``edgewhisk_devkit``); a warm no-op
  action the device keeps (``policy.offline``) and that placement puts on it
  (``policy.fn(node=..., strict=True)``). Interleaved, in the same run: a blocking invoke
  through the device's local API on its unix socket (the agent runs without ``--api-key``, so
  every local invoke runs on the device: the path of a device cut off), and one through the
  controller's REST API, placed on the device through the tunnel. p50/p99 of each and their
  ratio.
- **sync**: the controller is stopped, the device makes ``--records`` records through its
  local API, the controller starts again on the same port and data; the time from its start
  until the device holds no unconfirmed record (each was stored by the controller, once), and
  the count the controller then lists.
- **vision**: the example's CNN (``actions/examples/field_technician``) trained on its seeded
  photos; the time of one forward pass per photo on one CPU core (``OMP_NUM_THREADS=1``, the
  process pinned to one core), p50/p99, and its held-out accuracy.

Prints a table (``--json``: one JSON document) and writes bench/out/offline.png.

    python bench/offline.py [--calls 200] [--records 1000] [--images 500] [--quick] [--json]
    edgewhisk bench offline [--calls 200] [--records 1000] [--images 500] [--quick] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before MXNet loads: one core for inference
os.environ.setdefault("MXNET_CPU_WORKER_NTHREADS", "1")

# bench/ is on sys.path (see _report.py)
from _report import cdf, cdf_axes, failed, outputs, pct, progress, report, save  # noqa: E402
from edgewhisk_cli.action import python_action  # noqa: E402
from edgewhisk_client import LocalClient  # noqa: E402
from edgewhisk_devkit import UNLIMITED, Agent, Controller  # noqa: E402
from edgewhisk_devkit.agent import tunnel_url  # noqa: E402
from edgewhisk_runtime.local import free_port  # noqa: E402

FIELD = Path(__file__).resolve().parents[1] / "actions" / "examples" / "field_technician"
DEVICE = "bench-tablet"
ECHO = f'''from edgewhisk import policy


@policy.offline(node=["{DEVICE}"])
@policy.fn(node="{DEVICE}", strict=True)
def main(args):
    return {{"ok": True}}
'''


def start_controller(tmp: Path, port: int) -> Controller:
    return Controller(tmp / "data", "--invokers", "0", "--log-level", "WARNING", *UNLIMITED,
                      port=port, host="127.0.0.1", log=tmp / "controller.log").start()


def unsynced(offline: Path) -> int:
    with contextlib.closing(sqlite3.connect(offline / "offline.sqlite3")) as db:
        return int(db.execute("SELECT COUNT(*) FROM records").fetchone()[0])


def round_trips(client: Any, tablet: LocalClient, calls: int, warmup: int) -> dict[str, list]:
    """Interleaved blocking invokes: the local API's and the tunnel's, in ms."""
    samples: dict[str, list[float]] = {"local API": [], "tunnel": []}
    for n in range(warmup + calls):
        started = time.perf_counter()
        answer = tablet.invoke("echo", {})
        local_ms = (time.perf_counter() - started) * 1000
        assert answer.status == 200, answer.body
        record = client.actions.invoke("echo", {})
        assert record.success, record.record
        if n >= warmup:
            samples["local API"].append(local_ms)
            samples["tunnel"].append(record.round_trip_s * 1000)
        progress("round trips", n + 1, warmup + calls)
    return samples


def sync(tmp: Path, controller: Controller, port: int, tablet: LocalClient, offline: Path,
         records: int) -> tuple[Controller, float, int]:
    """(the restarted controller, seconds to sync, records the controller gained)."""
    before = count(controller)
    controller.stop()
    for n in range(records):
        assert tablet.invoke("echo", {"n": n}).status == 200
        progress("offline records", n + 1, records)
    started = time.perf_counter()
    controller = start_controller(tmp, port)
    while unsynced(offline) > 0:
        if time.perf_counter() - started > 600:
            raise RuntimeError(f"{unsynced(offline)} records still unsynced after 600 s")
        time.sleep(0.05)
    took = time.perf_counter() - started
    return controller, took, count(controller) - before


def count(controller: Controller) -> int:
    with controller.client() as client:
        listed = client.json("GET", "activations", params={"name": "echo", "count": "true"})
    return int(listed["activations"])


def vision(images: int) -> dict[str, Any]:
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    sys.path.insert(0, str(FIELD))
    import equipment

    x, y = equipment.photos(600, seed=0)
    (train_x, train_y), (test_x, test_y) = equipment.split(x, y)
    net = equipment.build_net(seed=0)
    started = time.perf_counter()
    equipment.train(net, train_x, train_y, epochs=5)
    train_s = time.perf_counter() - started
    photos, _ = equipment.photos(images, seed=11)
    times = []
    for n, photo in enumerate(photos):
        begin = time.perf_counter()
        equipment.probabilities(net, photo[None])
        times.append((time.perf_counter() - begin) * 1000)
        progress("vision inferences", n + 1, images)
    return {"accuracy": round(equipment.accuracy(net, test_x, test_y), 4),
            "train_s": round(train_s, 2), "samples": times}


def run(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    port = free_port()
    controller = start_controller(tmp, port)
    offline, socket_path = tmp / "offline", tmp / "local.sock"
    agent: Agent | None = None
    try:
        with controller.client() as client:
            token = client.tokens.create(DEVICE)["token"]
            source = tmp / "echo.py"
            source.write_text(ECHO)
            client.actions.put("echo", python_action("echo", source))
        agent = Agent(tunnel_url(controller.api_host), token, "--id", DEVICE, "--no-battery",
                      "--backoff-cap", "0.5", "--offline-dir", str(offline), "--local-api",
                      str(socket_path), log=tmp / "agent.log").start()
        agent.wait_registered()
        agent.wait_log("keeping guest/echo@0.0.1 for offline use")
        tablet = LocalClient((offline / "local.key").read_text().strip(),
                             socket_path=str(socket_path))
        with controller.client() as client:
            samples = round_trips(client, tablet, args.calls, args.warmup)
        controller, sync_s, listed = sync(tmp, controller, port, tablet, offline, args.records)
        results: dict[str, Any] = {"calls": args.calls, "records": args.records,
                                   "sync_s": round(sync_s, 3), "records_listed": listed,
                                   "agent_pid": agent.pid, "controller_pid": controller.pid}
    finally:
        if agent is not None:
            agent.stop()
        controller.stop()
    seen = vision(args.images)
    samples["vision"] = seen.pop("samples")
    for label, key in (("local API", "local_ms"), ("tunnel", "tunnel_ms"),
                       ("vision", "inference_ms")):
        results[key] = {"p50": round(pct(samples[label], 50), 3),
                        "p99": round(pct(samples[label], 99), 3)}
    results["tunnel_local_ratio"] = {q: round(results["tunnel_ms"][q] / results["local_ms"][q], 2)
                                     for q in ("p50", "p99")}
    results["vision_accuracy"], results["vision_train_s"] = seen["accuracy"], seen["train_s"]
    results["images"] = args.images
    results["samples"] = samples
    return results


def table(r: dict[str, Any]) -> str:
    rows = [("measure", "p50", "p99"),
            ("local API invoke, on the device (ms)", r["local_ms"]["p50"], r["local_ms"]["p99"]),
            ("tunnel invoke, via the controller (ms)", r["tunnel_ms"]["p50"],
             r["tunnel_ms"]["p99"]),
            ("tunnel / local", r["tunnel_local_ratio"]["p50"], r["tunnel_local_ratio"]["p99"]),
            ("vision inference per photo, 1 core (ms)", r["inference_ms"]["p50"],
             r["inference_ms"]["p99"])]
    width = max(len(str(row[0])) for row in rows)
    lines = [f"{str(a):<{width}}  {str(b):>9}  {str(c):>9}" for a, b, c in rows]
    lines.insert(1, "-" * len(lines[0]))
    lines += ["", f"sync of {r['records']} offline records after the controller came back: "
                  f"{r['sync_s']} s (the controller stored {r['records_listed']})",
              f"vision model: held-out accuracy {r['vision_accuracy']}, trained in "
              f"{r['vision_train_s']} s ({r['calls']} round trips, {r['images']} photos)"]
    return "\n".join(lines)


def plot(r: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (rtt_ax, sync_ax, vision_ax) = plt.subplots(1, 3, figsize=(14, 4.5))
    for label in ("local API", "tunnel"):
        cdf(rtt_ax, r["samples"][label], label=label)
    cdf_axes(rtt_ax, "blocking invoke round trip (ms, log scale)",
             "no-op on the device: local API vs tunnel")
    sync_ax.bar([f"{r['records']} records"], [r["sync_s"]], color="tab:green")
    sync_ax.set_ylabel("seconds from the controller's start")
    sync_ax.set_title("sync of records made offline")
    vision_ax.hist(r["samples"]["vision"], bins=40, color="tab:orange")
    vision_ax.set_xlabel("forward pass per 16x16 photo, one core (ms)")
    vision_ax.set_title(f"vision CNN (held-out accuracy {r['vision_accuracy']})")
    fig.tight_layout()
    save(fig, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200, help="round trips of each kind")
    parser.add_argument("--warmup", type=int, default=10, help="round trips not counted")
    parser.add_argument("--records", type=int, default=1000, help="records made offline")
    parser.add_argument("--images", type=int, default=500, help="photos classified")
    outputs(parser, "offline", quick="10 round trips, 50 records, 50 photos")
    args = parser.parse_args(argv)
    if args.quick:
        args.calls, args.warmup, args.records, args.images = 10, 2, 50, 50
    if min(args.calls, args.records, args.images) < 1 or args.warmup < 0:
        parser.error("--calls, --records and --images must be positive")
    with tempfile.TemporaryDirectory(prefix="edgewhisk-bench-offline-") as tmp:
        try:
            results = run(args, Path(tmp))
        except Exception as exc:
            return failed("offline", exc, Path(tmp), ("controller.log", "agent.log"))
    return report(results, args.out, args.json, plot, table)


if __name__ == "__main__":
    sys.exit(main())
