"""Artifacts: how fast a model selector resolves over a large registry, and how fast a model
reaches an invoker — from its node store, through the tunnel, or from S3.

``edgewhisk bench artifacts [--part selector|transfer|all] [--versions 100000] [--repeat 200]
[--sizes 1,50,200] [--transfer-repeat 3] [--quick] [--out PNG] [--json]``

SELECTOR PART. A population of ``--versions`` model versions in one namespace (seeded, so runs
compare): 100 buckets (4 types x 25 training sets) of names with many versions each, accuracy
uniform in [0, 1), a bias and a robustness metric, creation times spread over the population.
It is loaded into the registry's ``SelectorIndex`` (timed: the index build is what a controller
pays on the first resolution in a namespace), then each scenario resolves ``--repeat`` times
with p50/p99 latency:

- newest of a (type, trained_on) bucket; newest passing an accuracy predicate; best by
  accuracy in a bucket; best by accuracy across every bucket (no type/trained_on);
- the first resolution after a write to its bucket (the bucket's sorted view is rebuilt);
- no match: the candidates ranking scans the whole namespace (the error path);
- for scale, the reference scan (``selectors.resolve`` over a list, what the index replaces).

TRANSFER PART (``_artifact_transfer.py``). A model of each ``--sizes`` (MB; ``--quick``: 1 and
8) reaches an invoker three ways, side by side in one run: already cached in its node store
(``stage()`` finds it), pulled through the tunnel by a real agent from a real controller over
a real WebSocket (miss minus hit of a warm activation consuming it), and read from S3 (the
controller's ``S3BlobStore`` against a moto server). p50 latency and MB/s of each, the tunnel's
throughput relative to S3's and its latency relative to the cache's, with progress lines while
bytes move; a PNG (``--out``, default ``bench/out/artifacts.png``).
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _artifact_transfer as transfer
from _report import pct  # bench/ is on sys.path (see _report.py)
from edgewhisk_controller.artifacts.selectors import (
    Match,
    NoMatch,
    Selector,
    SelectorIndex,
    parse,
    resolve,
)

NS = "guest"
TYPES = ("classifier", "regressor", "detector", "ranker")
SETS = tuple(f"set{i}" for i in range(25))
SIZES_MB = (1.0, 50.0, 200.0)
QUICK_SIZES_MB = (1.0, 8.0)
OUT = Path(__file__).resolve().parent / "out" / "artifacts.png"


def population(versions: int, seed: int = 6) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    names = max(1, versions // 100)
    docs = []
    for i in range(versions):
        n = rng.randrange(names)
        meta = {"type": TYPES[n % len(TYPES)], "trained_on": SETS[n // len(TYPES) % len(SETS)]}
        docs.append({"_id": f"{NS}/m{n}@{i + 1}", "namespace": NS, "name": f"m{n}",
                     "version": i + 1, "kind": "model", "created": i, "metadata": meta,
                     "metrics": {"accuracy": rng.random(), "robustness": rng.random(),
                                 "bias": {"gender": rng.random() / 4}}})
    return docs


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="edgewhisk bench artifacts", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("selector", "transfer", "all"), default="all")
    parser.add_argument("--versions", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=200, help="resolutions per scenario")
    parser.add_argument("--sizes", default=",".join(f"{s:g}" for s in SIZES_MB),
                        help="model sizes in MB for the transfer part (default %(default)s)")
    parser.add_argument("--transfer-repeat", type=int, default=3,
                        help="transfers per size and source (default %(default)s)")
    parser.add_argument("--quick", action="store_true",
                        help=f"transfer sizes {QUICK_SIZES_MB} MB, two repetitions (smoke test)")
    parser.add_argument("--out", type=Path, default=OUT, help="the transfer plot (PNG)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    doc: dict[str, Any] = {}
    if args.part in ("selector", "all"):
        doc.update(selector_part(args))
    if args.part in ("transfer", "all"):
        doc["transfer"] = transfer_part(args)
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    if "rows" in doc:
        print_selector(doc)
    if "transfer" in doc:
        print_transfer(doc["transfer"])
    return 0


def selector_part(args: argparse.Namespace) -> dict[str, Any]:
    """The selector scenarios over ``--versions`` versions; the index build time."""
    docs = population(args.versions)
    index = SelectorIndex()
    start = time.perf_counter()
    for doc in docs:
        index.add(doc)
    build_ms = (time.perf_counter() - start) * 1000
    bucket = {"type": "classifier", "trained_on": "set3"}
    scenarios: list[tuple[str, Selector, int]] = [
        ("newest in a bucket", parse(bucket), args.repeat),
        ("newest with accuracy >= 0.9", parse({**bucket, "metrics": {"accuracy": ">=0.9"}}),
         args.repeat),
        ("best:accuracy in a bucket", parse({**bucket, "order": "best:accuracy"}), args.repeat),
        ("best:bias.gender, accuracy >= 0.95, every bucket",
         parse({"metrics": {"accuracy": ">=0.95"}, "order": "best:bias.gender"}), args.repeat),
        ("no match (candidates over the namespace)",
         parse({**bucket, "metrics": {"accuracy": ">=2"}}), max(3, args.repeat // 20)),
    ]
    rows: list[dict[str, Any]] = []
    for label, selector, repeat in scenarios:
        index.resolve(NS, selector)  # the first call builds the sorted views
        samples = timed(functools.partial(index.resolve, NS, selector), repeat)
        rows.append(_row(label, samples, index.resolve(NS, selector)))

    churn = parse({**bucket, "order": "best:accuracy"})
    extra = iter(range(args.versions + 1, args.versions + 1 + args.repeat))

    def write_then_resolve() -> None:
        v = next(extra)
        index.add({**docs[0], "_id": f"{NS}/fresh@{v}", "name": "fresh", "version": v,
                   "created": v, "metadata": bucket})
        index.resolve(NS, churn)

    rows.append(_row("first resolve after a write to the bucket",
                     timed(write_then_resolve, args.repeat), None))
    reference = parse({**bucket, "metrics": {"accuracy": ">=0.9"}})
    rows.append(_row("reference scan (no index), accuracy >= 0.9",
                     timed(lambda: resolve(reference, docs), max(3, args.repeat // 20)),
                     resolve(reference, docs)))
    return {"versions": args.versions, "index_build_ms": build_ms, "rows": rows}


def print_selector(doc: dict[str, Any]) -> None:
    print(f"selector resolution over {doc['versions']:,} model versions "
          f"(index built in {doc['index_build_ms']:,.0f} ms; python {sys.version.split()[0]})")
    header = f"{'scenario':<52} {'n':>5} {'p50 ms':>9} {'p99 ms':>9}  outcome"
    print(header)
    print("-" * len(header))
    for row in doc["rows"]:
        print(f"{row['scenario']:<52} {row['n']:>5} {row['p50_ms']:>9.3f} {row['p99_ms']:>9.3f}"
              f"  {row['outcome']}")


def transfer_part(args: argparse.Namespace) -> dict[str, Any]:
    """Cached vs tunnel vs S3 at each size, the ratios, and the plot."""
    sizes = list(QUICK_SIZES_MB) if args.quick else [float(s) for s in args.sizes.split(",")]
    repeat = 2 if args.quick else args.transfer_repeat
    print(f"transfers: {', '.join(f'{s:g} MB' for s in sizes)}, {repeat} each, from the node "
          "store, through the tunnel, from S3", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="edgewhisk-bench-artifacts-") as tmp:
        samples, pids = transfer.run(sizes, repeat, Path(tmp))
    rows = [_transfer_row(s) for s in samples]
    ratios = []
    for size in sorted({r["size_mb"] for r in rows}):
        by = {r["source"]: r for r in rows if r["size_mb"] == size}
        ratios.append({"size_mb": size,
                       "tunnel_vs_s3_throughput": by["tunnel"]["mb_per_s"]
                       / max(by["s3"]["mb_per_s"], 1e-9),
                       "tunnel_vs_cached_latency": by["tunnel"]["p50_ms"]
                       / max(by["cached"]["p50_ms"], 1e-9)})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    plot(rows, args.out)
    return {"sizes_mb": sizes, "repeat": repeat, "rows": rows, "ratios": ratios,
            "plot": str(args.out), "stopped_pids": pids}


def _transfer_row(samples: transfer.Samples) -> dict[str, Any]:
    p50 = statistics.median(samples.ms)
    size_mb = samples.size / transfer.MB
    return {"size_mb": round(size_mb, 3), "source": samples.source, "n": len(samples.ms),
            "p50_ms": p50, "max_ms": max(samples.ms),
            "mb_per_s": size_mb / (p50 / 1000) if p50 > 0 else float("inf"),
            "activation_p50_ms": (statistics.median(samples.activation_ms)
                                  if samples.activation_ms else None)}


def print_transfer(doc: dict[str, Any]) -> None:
    print(f"\nmodel transfers: p50 of {doc['repeat']} per size and source "
          "(tunnel: a real controller and agent on loopback; S3: moto via boto3)")
    header = (f"{'size':>8}  {'source':<8} {'n':>3} {'p50 ms':>10} {'max ms':>10} "
              f"{'MB/s':>11} {'activation ms':>14}")
    print(header)
    print("-" * len(header))
    for r in doc["rows"]:
        act = f"{r['activation_p50_ms']:.1f}" if r["activation_p50_ms"] is not None else "-"
        print(f"{r['size_mb']:>5g} MB  {r['source']:<8} {r['n']:>3} {r['p50_ms']:>10.3f} "
              f"{r['max_ms']:>10.3f} {r['mb_per_s']:>11.1f} {act:>14}")
    for r in doc["ratios"]:
        print(f"{r['size_mb']:>5g} MB: tunnel throughput {r['tunnel_vs_s3_throughput']:.2f}x "
              f"S3's; tunnel latency {r['tunnel_vs_cached_latency']:,.0f}x a cache hit's")
    print(f"plot: {doc['plot']}")


def plot(rows: list[dict[str, Any]], out: Path) -> None:
    """MB/s and p50 latency per size, one bar per source (log scales: they differ by 1000s)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted({r["size_mb"] for r in rows})
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    width = 0.8 / len(transfer.SOURCES)
    for i, source in enumerate(transfer.SOURCES):
        by = {r["size_mb"]: r for r in rows if r["source"] == source}
        xs = [k + i * width for k in range(len(sizes))]
        axes[0].bar(xs, [by[s]["mb_per_s"] for s in sizes], width, label=source)
        axes[1].bar(xs, [max(by[s]["p50_ms"], 1e-3) for s in sizes], width, label=source)
    for ax, title in zip(axes, ("throughput (MB/s)", "p50 latency (ms)"), strict=True):
        ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xticks([k + width for k in range(len(sizes))], [f"{s:g} MB" for s in sizes])
        ax.legend()
    fig.suptitle("a model reaching an invoker: node store hit vs tunnel pull vs S3 read")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def _row(label: str, samples: list[float], outcome: Match | NoMatch | None) -> dict[str, Any]:
    if isinstance(outcome, Match):
        described = f"{outcome.doc['name']}@{outcome.doc['version']}"
    elif isinstance(outcome, NoMatch):
        described = f"no match, {len(outcome.candidates)} candidates"
    else:
        described = "-"
    return {"scenario": label, "n": len(samples), "p50_ms": statistics.median(samples),
            "p99_ms": pct(samples, 99), "outcome": described}


if __name__ == "__main__":
    sys.exit(main())
