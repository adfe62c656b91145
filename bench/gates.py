"""Benchmark of the gate stage: what watching a served model costs per /run, and its window.

Two real proxies serve the personal assistant's glucose model (MXNet, loaded once by ``main``
and kept) to the same requests, alternating call by call in one run so that load hits both
alike: one action without gates, one with predict's two drift gates (confidence and psi over a
window against the model's training reference, staged as an invoker stages it). Per batch size
(readings per /run) it reports the /run round trip p50/p99 of each, the forward pass itself
(timed inside ``main``), the gate stage's overhead (gated - plain, at p50 and p99) and its ratio
to the forward pass, against the aim: < 5 % of the forward pass or < 0.2 ms, whichever is
larger. In process, without HTTP, it also times a forward pass with and without the
instrumentation (its hook and the activation's summary), and measures a window's memory per
model version (one window per gate, version and binding) for activations of 1 to 256
readings.

Prints a table and writes bench/out/gates.png (``--json``: the numbers as JSON on stdout).

    python bench/gates.py [--calls 2000] [--batches 1,32,256] [--quick] [--json]
    edgewhisk bench gates [--calls 2000] [--batches 1,32,256] [--quick] [--json]
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from _cpu import cpu_seconds  # bench/ is on sys.path (see _report.py)
from _paired import plan
from _report import cdf, cdf_axes, outputs, pct, progress, save
from edgewhisk_devkit import descendants
from edgewhisk_runtime.artifacts.instrument import Observer, reference_of
from edgewhisk_runtime.artifacts.monitor import Summary, Window
from edgewhisk_runtime.local import LocalRuntime

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "actions" / "examples" / "personal_assistant"
WARMUP = 50
AIM_RATIO, AIM_MS = 0.05, 0.2
SERVE = """
import time
import glucose
from edgewhisk import consumes, gate

MODEL = []

@consumes.model("{usr}/glucose-model", name="model")
GATES
def main(args, model):
    if not MODEL:
        MODEL.append(model.load())
    x = glucose.readings_matrix(args["readings"])
    start = time.perf_counter()
    proba = glucose.predict_proba(MODEL[0], x)
    return {"forward_ms": (time.perf_counter() - start) * 1000, "n": len(proba)}
"""
GATES = ('@gate.drift(metric="confidence", predicate="<0.2")\n'
         '@gate.drift(metric="psi", predicate=">0.5", window=100)')


def _code(gated: bool) -> str:
    source = SERVE.replace("GATES\n", GATES + "\n" if gated else "")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("__main__.py", source)
        archive.write(EXAMPLE / "glucose.py", "glucose.py")
    return base64.b64encode(buf.getvalue()).decode()


def _glucose() -> Any:
    sys.path.insert(0, str(EXAMPLE))
    import glucose

    return glucose


def model_folder(root: Path) -> tuple[Path, dict[str, Any]]:
    """The glucose classifier, trained briefly and exported; its training reference."""
    glucose = _glucose()
    train, _ = glucose.split(glucose.user_readings("u1", 400))
    net = glucose.build_net(seed=0)
    glucose.train(net, train["X"], train["y"], epochs=3)
    folder = root / "model"
    folder.mkdir()
    net.export(str(folder / "model"), epoch=0)
    return folder, reference_of(train["X"], "guest/u1/glucose@1", list(glucose.FEATURES)) or {}


def _request(rt: LocalRuntime, rows: list[list[float]], staged: str) -> bytes:
    payload = json.dumps({"value": {"usr": "u1", "readings": rows},
                          "activation_id": "bench", "edgewhisk": staged}).encode()
    return (f"POST /run HTTP/1.1\r\nHost: {rt.host}:{rt.port}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n").encode() + payload


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a proxy and its action process have used so far: the
    cost a loaded machine's scheduling does not blur."""
    return sum(cpu_seconds(one) for one in (pid, *descendants(pid)))


def bench_runs(calls: int, batch: int, staged: str) -> dict[str, list[float]]:
    """Round trips (ms) of the plain and the gated proxy, alternating; forward passes (ms);
    CPU milliseconds per /run of each (one sample: the average over the measured calls)."""
    from runtime import RawClient  # the runtime benchmark's kept-alive client

    glucose = _glucose()
    rows = glucose.user_readings("u1", batch, seed=7)["X"].tolist()
    samples: dict[str, list[float]] = {"plain": [], "gated": [], "forward": []}
    with LocalRuntime() as plain, LocalRuntime() as gated:
        clients = {}
        for name, rt in (("plain", plain), ("gated", gated)):
            status, body = rt.init({"code": _code(name == "gated"), "binary": True})
            assert status == 200, body
            clients[name] = (RawClient(rt.host, rt.port), _request(rt, rows, staged))
        cpu: dict[str, float] = {}
        for made, runs in plan(("gated", "plain"), WARMUP + calls, 1):
            i = made - 1
            if i == WARMUP:
                cpu = {"plain": cpu_s(plain.pid or 0), "gated": cpu_s(gated.pid or 0)}
            for name, _ in runs:
                client, request = clients[name]
                start = time.perf_counter()
                status, headers, body = client.post(request)
                elapsed = (time.perf_counter() - start) * 1000
                assert status == 200, body
                assert (name == "gated") == ("X-Edgewhisk-Gates" in headers)
                if i >= WARMUP:
                    samples[name].append(elapsed)
                    if name == "plain":
                        samples["forward"].append(json.loads(body)["forward_ms"])
            if i >= WARMUP:
                progress(f"{batch} reading(s) per /run", i - WARMUP + 1, calls)
        for name, rt in (("plain", plain), ("gated", gated)):
            samples[f"{name}_cpu"] = [(cpu_s(rt.pid or 0) - cpu[name]) * 1000 / calls]
        for client, _ in clients.values():
            client.close()
    return samples


def bench_hook(folder: Path, reference: dict[str, Any], calls: int,
               batch: int) -> tuple[list[float], list[float]]:
    """A forward pass (ms) of the loaded model as ``main`` makes it (the answer read), without
    and with the instrumentation: its hook, and the activation's summary made afterwards."""
    import mxnet
    from edgewhisk import ArtifactHandle

    glucose = _glucose()
    x = mxnet.nd.array(glucose.user_readings("u1", batch, seed=7)["X"])
    observer = Observer()
    watched = {"model": {"key": "guest/u1/glucose-model@1"}}
    observer.start({"model": {**watched["model"], "edges": reference["edges"]}})
    handles = {"plain": ArtifactHandle("model", "model", None, lambda: folder),
               "hooked": ArtifactHandle("model", "model", None, lambda: folder,
                                        on_load=lambda v: observer.instrument("model", v))}
    blocks = {name: handle.load() for name, handle in handles.items()}
    out: dict[str, list[float]] = {"plain": [], "hooked": []}
    for i in range(WARMUP + calls):
        for name, block in blocks.items():
            start = time.perf_counter()
            block(x).asnumpy()
            if name == "hooked":
                observer.summaries()
                observer.start(watched)
            if i >= WARMUP:
                out[name].append((time.perf_counter() - start) * 1000)
    return out["plain"], out["hooked"]


def window_memory(reference: dict[str, Any], sizes: list[int]) -> dict[int, int]:
    """Bytes a full window (100 rows) holds, by readings per activation."""
    counts = tuple(tuple([1] * len(c)) for c in reference["counts"])
    memory = {}
    for size in sizes:
        window = Window(100)
        for _ in range(max(1, 200 // size)):
            window.add(Summary(size, 0.5 * size, tuple(tuple(c * size for c in row)
                                                      for row in counts)))
        memory[size] = window.memory_bytes()
    return memory


def plot(results: dict[int, dict[str, list[float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(5 * len(results), 4), squeeze=False)
    for ax, (batch, samples) in zip(axes[0], results.items(), strict=True):
        for label in ("plain", "gated", "forward"):
            cdf(ax, samples[label], label=label)
        cdf_axes(ax, "ms (log scale)", f"{batch} reading(s) per /run",
                 ylabel=ax is axes[0][0], legend_size=8)
    fig.tight_layout()
    save(fig, path)


def summary(batch: int, runs: dict[str, list[float]], hook: tuple[list[float], list[float]]
            ) -> dict[str, Any]:
    forward = pct(runs["forward"], 50)
    over50 = pct(runs["gated"], 50) - pct(runs["plain"], 50)
    over99 = pct(runs["gated"], 99) - pct(runs["plain"], 99)
    aim = max(AIM_RATIO * forward, AIM_MS)
    return {"batch": batch, "calls": len(runs["plain"]),
            "plain_ms": {"p50": pct(runs["plain"], 50), "p99": pct(runs["plain"], 99)},
            "gated_ms": {"p50": pct(runs["gated"], 50), "p99": pct(runs["gated"], 99)},
            "forward_ms": {"p50": forward, "p99": pct(runs["forward"], 99)},
            "overhead_ms": {"p50": over50, "p99": over99},
            "overhead_ratio": over50 / forward if forward else 0.0,
            "cpu_ms": {"plain": runs["plain_cpu"][0], "gated": runs["gated_cpu"][0],
                       "overhead": runs["gated_cpu"][0] - runs["plain_cpu"][0]},
            "hook_ms": {"plain_p50": pct(hook[0], 50), "hooked_p50": pct(hook[1], 50),
                        "overhead_p50": pct(hook[1], 50) - pct(hook[0], 50)},
            "aim_ms": aim, "meets_aim": over50 < aim}


def report(rows: list[dict[str, Any]], memory: dict[int, int]) -> None:
    print(f"{'readings/run':>12} {'plain p50/p99 ms':>17} {'gated p50/p99 ms':>17} "
          f"{'forward p50':>11} {'overhead p50/p99':>17} {'ratio':>7} {'hook only':>9} "
          f"{'CPU/run plain/gated':>20} {'aim ms':>7}")
    for r in rows:
        print(f"{r['batch']:>12} {r['plain_ms']['p50']:>8.3f}/{r['plain_ms']['p99']:<8.3f} "
              f"{r['gated_ms']['p50']:>8.3f}/{r['gated_ms']['p99']:<8.3f} "
              f"{r['forward_ms']['p50']:>11.3f} {r['overhead_ms']['p50']:>8.3f}/"
              f"{r['overhead_ms']['p99']:<8.3f} {r['overhead_ratio']:>6.1%} "
              f"{r['hook_ms']['overhead_p50']:>9.3f} "
              f"{r['cpu_ms']['plain']:>9.3f}/{r['cpu_ms']['gated']:<9.3f} {r['aim_ms']:>7.3f} "
              f"{'meets' if r['meets_aim'] else 'MISSES'}")
    print("\nwindow memory per model version (one window: a gate, a version, a binding; "
          "100 readings, 9 features x 10 bins):")
    for size, nbytes in memory.items():
        print(f"  {size:>4} reading(s) per activation: {nbytes / 1024:.1f} KiB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls per proxy and batch")
    parser.add_argument("--batches", default="1,32,256", help="readings per /run")
    outputs(parser, "gates", quick="200 calls, batches 1 and 32")
    args = parser.parse_args(argv)
    calls = 200 if args.quick else args.calls
    batches = [1, 32] if args.quick else [int(b) for b in args.batches.split(",")]

    print(f"gates bench: {calls} calls per proxy, readings per /run {batches}", file=sys.stderr)
    root = Path(tempfile.mkdtemp(prefix="edgewhisk-bench-gates-"))
    try:
        folder, reference = model_folder(root)
        staged = json.dumps({"consumes": {"model": {
            "path": str(folder), "format": "mxnet-gluon", "key": "guest/u1/glucose-model@1",
            "reference": reference}}, "produce_root": str(root / "out")})
        results = {batch: bench_runs(calls, batch, staged) for batch in batches}
        rows = [summary(batch, results[batch], bench_hook(folder, reference, calls, batch))
                for batch in batches]
        memory = window_memory(reference, [1, 32, 256])
    finally:
        shutil.rmtree(root, ignore_errors=True)
    plot(results, args.out)
    if args.json:
        print(json.dumps({"rows": rows, "window_bytes": memory, "plot": str(args.out)}))
    else:
        report(rows, memory)
        print(f"\nplot: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
