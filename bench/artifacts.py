"""Artifacts: how fast a model selector resolves over a large registry.

``edgewhisk bench artifacts [--versions 100000] [--repeat 200] [--json]``

SELECTOR PART (this file, now). A population of ``--versions`` model versions in one
namespace (seeded, so runs compare): 100 buckets (4 types x 25 training sets) of names with
many versions each, accuracy uniform in [0, 1), a bias and a robustness metric, creation
times spread over the population. It is loaded into the registry's ``SelectorIndex`` (timed:
the index build is what a controller pays on the first resolution in a namespace), then each
scenario resolves ``--repeat`` times with p50/p99 latency:

- newest of a (type, trained_on) bucket; newest passing an accuracy predicate; best by
  accuracy in a bucket; best by accuracy across every bucket (no type/trained_on);
- the first resolution after a write to its bucket (the bucket's sorted view is rebuilt);
- no match: the candidates ranking scans the whole namespace (the error path);
- for scale, the reference scan (``selectors.resolve`` over a list, what the index replaces).

TRANSFER PART (not implemented yet; do not read numbers into its absence). Issue 6 also asks
for resolving a cached model vs fetching it through the tunnel vs from S3 (MB/s and latency
for 1 MB, 50 MB, 200 MB). That needs the tunnel's ``artifact.get``/``artifact.put`` transfers
and the invoker caches, which a later part of issue 6 adds; it belongs in this file then.
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

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
    parser.add_argument("--versions", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=200, help="resolutions per scenario")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

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

    if args.json:
        print(json.dumps({"versions": args.versions, "index_build_ms": build_ms, "rows": rows},
                         indent=2))
        return 0
    print(f"selector resolution over {args.versions:,} model versions "
          f"(index built in {build_ms:,.0f} ms; python {sys.version.split()[0]})")
    header = f"{'scenario':<52} {'n':>5} {'p50 ms':>9} {'p99 ms':>9}  outcome"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(f"{row['scenario']:<52} {row['n']:>5} {row['p50_ms']:>9.3f} {row['p99_ms']:>9.3f}"
              f"  {row['outcome']}")
    print("transfer part (cached vs tunnel vs S3): not implemented yet, see the docstring")
    return 0


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
