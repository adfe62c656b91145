"""Placement throughput: the paper's Figure 4, our engine side by side with skippy.

The paper (section 5) measured its Python port of the Kubernetes scheduler (skippy) on a
cluster synthesised from the Google Borg 2011 machines and found throughput collapsing with
nodes and soft constraints ("with 5000 nodes and fewer than 10 constraints, the scheduler
struggles to process more than 10-15 functions per second"). This benchmark reruns both
experiments in one process, on the same seeded nodes (bench/population.py) with the same
5 hard and N soft constraints (bench/workload.py):

- Experiment 1: 12,583 machines, 1, 2, 5, 10, 20 soft constraints.
- Experiment 2: 100, 500, 1,000, 5,000, 12,583, 50,000 machines, 1, 5, 10 soft constraints.

Schedulers: our ``edgewhisk_controller.placement.Engine`` (place + placed, completion 1,000
placements later with a run time jittered +-20%), and skippy-core 0.1.1's ``Scheduler``
(bench/peers/skippy.py) scoring all feasible nodes (its default,
``percentage_of_nodes_to_score=100``) and with Kubernetes' default sampling (``0``: adaptive
50% - nodes/125, at least 5% and at least 100 nodes, feasible nodes searched round-robin). Runs are
bounded per point: ours ``--engine-placements`` or ``--engine-seconds``, skippy
``--skippy-placements`` or ``--skippy-seconds`` (at least 2), whichever comes first; a
measurement shared by both experiments (12,583 nodes with 1, 5, 10 soft) is taken once.

Same work: the engine adds NamespaceAccess (hard), WarmContainer and Proximity (soft) to every
placement from the request, so at 1 and 2 soft constraints it evaluates three soft terms where
skippy evaluates one or two; from 3 on the counts are equal (bench/workload.py puts those
three first). The engine caches each action's static filters and scores (the design); the
"cold" column is its first, uncached decision.

Fairness: one core (the process pins itself with ``sched_setaffinity``), BLAS/OpenMP threads
set to 1 before numpy loads, the garbage collector's generations frozen after each cluster is
built (both schedulers benefit). The machine may be shared: the load average is printed.

Output: progress on stderr; the table on stdout (on stderr with ``--json``, whose one JSON
object is then the only stdout); bench/out/placement.png (two panels like Figure 4, log y).
Memory of our state for ``--memory-invokers`` invokers (default 100,000) is reported too.

    python bench/placement.py [--quick] [--experiment 1|2|all] [--seed 0] [--json]
    edgewhisk bench placement [same options]
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

NUMPY_PRELOADED = "numpy" in sys.modules
HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # bench/ modules (population, workload, ours, peers)
    sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
import ours  # noqa: E402
import population as pop  # noqa: E402
import workload  # noqa: E402
from _report import save  # noqa: E402  bench/ is on sys.path (see _report.py)
from peers import skippy as peer  # noqa: E402

OUT = HERE / "out"
EXP1_SOFT = (1, 2, 5, 10, 20)
EXP2_NODES = (100, 500, 1_000, 5_000, pop.BORG_MACHINES, 50_000)
EXP2_SOFT = (1, 5, 10)
QUICK_EXP1_SOFT = (1, 5, 20)
QUICK_EXP2_NODES = (100, 1_000)
QUICK_EXP2_SOFT = (1, 10)
TARGET_PER_S = 20_000  # the target at 12,583 nodes, 20 soft + 5 hard, one core


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def sampled_nodes(n: int) -> int:
    """How many feasible nodes Kubernetes' adaptive default (skippy's ``0``) looks for."""
    percentage = max(50 - n / 125, 5)
    return max(int(n * percentage / 100), min(n, 100))


def check(condition: bool, message: str) -> None:
    """A fairness check: both schedulers must answer the same question."""
    if not condition:
        raise SystemExit(f"placement bench: {message}")


def pin(cpu: int) -> str:
    try:
        os.sched_setaffinity(0, {cpu})
    except (AttributeError, OSError) as exc:
        return f"not pinned ({exc})"
    return f"pinned to CPU {cpu}"


def load_average() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def points(experiment: str, quick: bool) -> list[tuple[int, int, int]]:
    """(experiment, nodes, soft) in run order."""
    soft1 = QUICK_EXP1_SOFT if quick else EXP1_SOFT
    nodes2 = QUICK_EXP2_NODES if quick else EXP2_NODES
    soft2 = QUICK_EXP2_SOFT if quick else EXP2_SOFT
    chosen = []
    if experiment in ("1", "all"):
        chosen += [(1, pop.BORG_MACHINES, s) for s in soft1]
    if experiment in ("2", "all"):
        chosen += [(2, n, s) for s in soft2 for n in nodes2]
    return chosen


def stats(latencies: Any, wall: float, cpu: float) -> dict[str, float]:
    """Throughput per wall second (the headline) and per CPU second (what a shared, loaded
    machine cannot distort), decision latency percentiles (wall clock)."""
    lat = np.asarray(latencies, dtype=float)
    return {"per_s": len(lat) / wall, "per_cpu_s": len(lat) / max(cpu, 1e-9),
            "p50_ms": float(np.percentile(lat, 50)) * 1e3,
            "p99_ms": float(np.percentile(lat, 99)) * 1e3, "placements": len(lat)}


def progress(label: str) -> Callable[[int], None]:
    last = [time.monotonic()]

    def report(done: int) -> None:
        now = time.monotonic()
        if now - last[0] >= 2.0:
            last[0] = now
            log(f"    {label}: {done} placements")

    return report


def measure_cluster(nodes: int, softs: list[int], args: argparse.Namespace,
                    ) -> dict[int, dict[str, Any]]:
    """Every soft count on one cluster of ``nodes`` machines: ours, skippy all, sampled."""
    t0 = time.perf_counter()
    population = pop.generate(nodes, args.seed, pop.borg_classes(args.borg_csv))
    engine = ours.build_engine(population)
    t1 = time.perf_counter()
    context = peer.build_context(population)
    t2 = time.perf_counter()
    log(f"  cluster: {population.summary()}; engine registered in {t1 - t0:.1f} s "
        f"(incl. generation), skippy nodes built in {t2 - t1:.1f} s")
    feasible = workload.feasible(population)
    feasible_ids = {population.ids[i] for i in np.flatnonzero(feasible)}
    gc.collect()
    gc.freeze()
    hard = workload.hard_terms()
    results = {}
    try:
        for soft_count in softs:
            soft = workload.soft_terms(soft_count)
            label = f"{nodes} nodes, {soft_count} soft"
            mine = ours.run(engine, population, hard, soft, args.engine_placements,
                            args.engine_seconds, progress(f"engine {label}"))
            check(mine.chosen <= feasible_ids, f"engine chose an infeasible invoker ({label})")
            why = ours.run(engine, population, hard, soft, args.engine_placements,
                           args.engine_seconds, progress(f"engine+why {label}"), explain=True)
            row: dict[str, Any] = {"engine": stats(mine.latencies, mine.wall, mine.cpu),
                                   "engine_explained": stats(why.latencies, why.wall, why.cpu),
                                   "engine_cold_ms": mine.cold * 1e3,
                                   "engine_p99_cpu_ms":
                                       float(np.percentile(mine.cpu_latencies, 99)) * 1e3,
                                   "feasible": int(feasible.sum())}
            for mode, percentage in (("skippy_all", peer.ALL), ("skippy_sampled", peer.SAMPLED)):
                theirs = peer.run(context, population, hard, soft, percentage,
                                  args.skippy_placements, args.skippy_seconds, [workload.ACTION],
                                  progress(f"{mode} {label}"))
                check(theirs.chosen <= feasible_ids, f"{mode} chose an infeasible node ({label})")
                if percentage == peer.ALL:
                    check(theirs.feasible == row["feasible"],
                          f"skippy found {theirs.feasible} feasible nodes, the population "
                          f"{row['feasible']} ({label})")
                row[mode] = stats(theirs.latencies, theirs.wall, theirs.cpu)
            row["sampled_nodes"] = min(sampled_nodes(nodes), row["feasible"])
            results[soft_count] = row
            log(f"  {label}: engine {row['engine']['per_s']:,.0f}/s, "
                f"skippy all {row['skippy_all']['per_s']:,.2f}/s, "
                f"sampled {row['skippy_sampled']['per_s']:,.2f}/s  (load {load_average()})")
    finally:
        gc.unfreeze()
    return results


def run_points(chosen: list[tuple[int, int, int]], args: argparse.Namespace,
               ) -> dict[tuple[int, int], dict[str, Any]]:
    by_nodes: dict[int, list[int]] = {}
    for _, nodes, soft in chosen:
        if soft not in by_nodes.setdefault(nodes, []):
            by_nodes[nodes].append(soft)
    measured: dict[tuple[int, int], dict[str, Any]] = {}
    for nodes, softs in by_nodes.items():
        log(f"[{time.strftime('%H:%M:%S')}] {nodes} nodes: soft {softs}")
        for soft, row in measure_cluster(nodes, softs, args).items():
            measured[(nodes, soft)] = row
        gc.collect()
    return measured


def report(chosen: list[tuple[int, int, int]], measured: dict[tuple[int, int], dict[str, Any]],
           memory: dict[str, float | None] | None, env: dict[str, Any]) -> dict[str, Any]:
    """The JSON object: parallel arrays, one entry per (experiment, nodes, soft) point."""
    keys = ("engine", "engine_explained", "skippy_all", "skippy_sampled")
    doc: dict[str, Any] = {"experiment": [], "nodes": [], "soft": []}
    for name in keys:
        for field in ("per_s", "per_cpu_s", "p50_ms", "p99_ms", "placements"):
            doc[f"{name}_{field}"] = []
    doc.update({"engine_cold_ms": [], "engine_p99_cpu_ms": [], "feasible": [],
                "skippy_sampled_nodes": [], "ratio_engine_to_skippy_all": [],
                "ratio_engine_to_skippy_sampled": [], "cpu_ratio_engine_to_skippy_all": [],
                "cpu_ratio_engine_to_skippy_sampled": []})
    for experiment, nodes, soft in chosen:
        row = measured[(nodes, soft)]
        doc["experiment"].append(experiment)
        doc["nodes"].append(nodes)
        doc["soft"].append(soft)
        for name in keys:
            for field, value in row[name].items():
                doc[f"{name}_{field}"].append(value)
        doc["engine_cold_ms"].append(row["engine_cold_ms"])
        doc["engine_p99_cpu_ms"].append(row["engine_p99_cpu_ms"])
        doc["feasible"].append(row["feasible"])
        doc["skippy_sampled_nodes"].append(row["sampled_nodes"])
        for peer_mode in ("skippy_all", "skippy_sampled"):
            doc[f"ratio_engine_to_{peer_mode}"].append(
                row["engine"]["per_s"] / row[peer_mode]["per_s"])
            doc[f"cpu_ratio_engine_to_{peer_mode}"].append(
                row["engine"]["per_cpu_s"] / row[peer_mode]["per_cpu_s"])
    doc["memory"] = memory
    doc["environment"] = env
    return doc


# (header, JSON key, format); None separates the groups
COLUMNS: list[tuple[str, str, str] | None] = [
    ("exp", "experiment", "d"), ("nodes", "nodes", "d"), ("soft", "soft", "d"),
    ("feasible", "feasible", "d"), None,
    ("engine/s", "engine_per_s", ",.0f"), ("/cpu-s", "engine_per_cpu_s", ",.0f"),
    ("p50 ms", "engine_p50_ms", ".3f"), ("p99 ms", "engine_p99_ms", ".3f"),
    ("p99cpu", "engine_p99_cpu_ms", ".3f"), ("cold ms", "engine_cold_ms", ".1f"), None,
    ("skippy all/s", "skippy_all_per_s", ",.2f"), ("p50 ms", "skippy_all_p50_ms", ".1f"),
    ("p99 ms", "skippy_all_p99_ms", ".1f"), None,
    ("sampled/s", "skippy_sampled_per_s", ",.2f"), ("scored", "skippy_sampled_nodes", "d"),
    ("p50 ms", "skippy_sampled_p50_ms", ".1f"), ("p99 ms", "skippy_sampled_p99_ms", ".1f"),
    None,
    ("ours/all", "ratio_engine_to_skippy_all", ",.0f"),
    ("ours/smp", "ratio_engine_to_skippy_sampled", ",.0f"),
    ("cpu:all", "cpu_ratio_engine_to_skippy_all", ",.0f"),
    ("cpu:smp", "cpu_ratio_engine_to_skippy_sampled", ",.0f"),
]


def table(doc: dict[str, Any]) -> str:
    """The points as a fixed-width table, then the conditions of the run."""
    cells = [[("|" if c is None else c[0]) for c in COLUMNS]]
    for i in range(len(doc["nodes"])):
        cells.append([("|" if c is None else format(doc[c[1]][i], c[2])) for c in COLUMNS])
    widths = [max(len(row[j]) for row in cells) for j in range(len(COLUMNS))]
    lines = [" ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True))
             for row in cells]
    lines.insert(1, "-" * len(lines[0]))
    env = doc["environment"]
    lines.append("")
    lines.append("engine/s: place + placed + completed per wall second; /cpu-s and cpu: per "
                 "CPU second of the process; p99cpu: CPU time per decision; cold: the first "
                 "decision (builds the cached masks)")
    lines.append("scored: feasible nodes skippy's k8s sampling looks for (50% - nodes/125, "
                 ">= 5%, >= 100); ours/all, ours/smp: engine/s over skippy's placements/s")
    lines.append("the engine adds NamespaceAccess (hard) and, below 3 soft terms, WarmContainer "
                 "and Proximity (soft) from the request; it caches the static part per action "
                 "(cold = uncached)")
    lines.append(f"placements per point: engine {env['engine_budget']}, "
                 f"skippy {env['skippy_budget']} (each mode); {env['cpu']}; {env['threads']}")
    lines.append(f"load average before/after: {env['load_before']} / {env['load_after']} "
                 f"({env['cores']} cores); {env['versions']}")
    lines.append(f"nodes: {env['scale']}, seed {env['seed']}")
    memory = doc["memory"]
    if memory:
        traced = ("" if memory["traced_mb"] is None
                  else f", {memory['traced_mb']:.1f} MB traced by tracemalloc")
        lines.append(
            f"memory of our state for {memory['invokers']:,} invokers: RSS growth "
            f"{memory['rss_growth_mb']:.1f} MB{traced} (numpy columns "
            f"{memory['columns_mb']:.1f} MB; target < 200 MB); registered in "
            f"{memory['register_s']:.1f} s")
    return "\n".join(lines)


def explain_table(doc: dict[str, Any]) -> str:
    """The engine with and without the explanation the dispatcher records (``Engine.why``
    after each decision), per point of the same run: p50 per decision and the ratio."""
    rows = ["placement explanations (Engine.why after each decision, as the dispatcher "
            "records them), same run:",
            f"{'nodes':>7} {'soft':>4} {'place p50 µs':>12} {'+why p50 µs':>12} {'ratio':>6}"]
    for i, nodes in enumerate(doc["nodes"]):
        off, on = doc["engine_p50_ms"][i], doc["engine_explained_p50_ms"][i]
        rows.append(f"{nodes:>7} {doc['soft'][i]:>4} {off * 1e3:>12.1f} {on * 1e3:>12.1f} "
                    f"{on / off:>6.2f}")
    return "\n".join(rows)


def plot(doc: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    systems = (("engine", "edgewhisk engine", "tab:green"),
               ("skippy_all", "skippy, all nodes", "tab:red"),
               ("skippy_sampled", "skippy, k8s sampling", "tab:blue"))
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    exp = np.array(doc["experiment"])
    nodes, soft = np.array(doc["nodes"]), np.array(doc["soft"])
    one = exp == 1
    for key, label, color in systems:
        values = np.array(doc[f"{key}_per_s"])
        if one.any():
            left.plot(soft[one], values[one], "o-", color=color, label=label)
        for style, s in zip(("-", "--", ":"), sorted(set(soft[exp == 2])), strict=False):
            sel = (exp == 2) & (soft == s)
            right.plot(nodes[sel], values[sel], "o" + style, color=color,
                       label=f"{label}, {s} soft")
    if one.any():
        left.plot(soft[one], np.array(doc["engine_per_cpu_s"])[one], "o--", color="tab:green",
                  alpha=0.45, label="edgewhisk engine, per CPU second")
        left.axhline(TARGET_PER_S, color="grey", linestyle=":", label="target 20,000/s")
        left.set_xticks(sorted(set(soft[one])))
    left.set(xlabel="soft constraints (12,583 nodes, 5 hard)", ylabel="placements / s",
             yscale="log", title="Throughput vs soft constraints")
    right.set(xlabel="nodes (5 hard constraints)", ylabel="placements / s", xscale="log",
              yscale="log", title="Throughput vs nodes")
    for ax in (left, right):
        ax.grid(True, which="both", alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    fig.suptitle("Placement throughput, one core (cf. the paper's Figure 4)")
    fig.tight_layout()
    save(fig, path)


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="edgewhisk bench placement", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--experiment", choices=("1", "2", "all"), default="all")
    p.add_argument("--quick", action="store_true",
                   help="fewer points and placements (a smoke run for CI)")
    p.add_argument("--seed", type=int, default=0, help="seed of the node population")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--engine-placements", type=int, default=None, help="default 20000")
    p.add_argument("--engine-seconds", type=float, default=None, help="default 5")
    p.add_argument("--skippy-placements", type=int, default=None, help="default 20")
    p.add_argument("--skippy-seconds", type=float, default=None, help="default 20")
    p.add_argument("--memory-invokers", type=int, default=None,
                   help="invokers for the memory measurement (default 100000, 0 = skip)")
    p.add_argument("--memory-traced", action="store_true",
                   help="also count the engine's allocations with tracemalloc (slow)")
    p.add_argument("--cpu", type=int, default=0, help="the CPU to pin the benchmark to")
    p.add_argument("--borg-csv", type=Path, default=pop.BORG_CSV)
    p.add_argument("--plot", type=Path, default=OUT / "placement.png")
    args = p.parse_args(argv)
    defaults = ((200, 0.5, 2, 1.0, 10_000) if args.quick else (20_000, 5.0, 20, 20.0, 100_000))
    names = ("engine_placements", "engine_seconds", "skippy_placements", "skippy_seconds",
             "memory_invokers")
    for name, default in zip(names, defaults, strict=True):
        if getattr(args, name) is None:
            setattr(args, name, default)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    import skippy  # noqa: F401  (fail early, with the install hint, if the peer is missing)

    env: dict[str, Any] = {
        "cpu": pin(args.cpu), "cores": os.cpu_count(), "load_before": load_average(),
        "threads": "OPENBLAS/OMP/MKL_NUM_THREADS=1"
                   + (" (numpy was loaded before: set them in the shell too)"
                      if NUMPY_PRELOADED else ""),
        "versions": f"python {platform.python_version()}, numpy {np.__version__}, "
                    f"edgerun-skippy-core {_version('edgerun-skippy-core')}",
        "scale": f"Borg 2011 classes, 1.0 CPU = {pop.CORES_PER_CPU_UNIT} cores, "
                 f"1.0 memory = {pop.GIB_PER_MEMORY_UNIT} GiB",
        "seed": args.seed,
        "engine_budget": f"{args.engine_placements} or {args.engine_seconds:g} s",
        "skippy_budget": f"{args.skippy_placements} or {args.skippy_seconds:g} s",
    }
    log(f"placement bench: {env['cpu']}, load {env['load_before']}, {env['versions']}")
    memory = None
    if args.memory_invokers:
        log(f"[{time.strftime('%H:%M:%S')}] memory: {args.memory_invokers:,} invokers")
        memory = ours.memory(pop.generate(args.memory_invokers, args.seed,
                                          pop.borg_classes(args.borg_csv)),
                             args.memory_traced)
        gc.collect()
    chosen = points(args.experiment, args.quick)
    measured = run_points(chosen, args)
    env["load_after"] = load_average()
    doc = report(chosen, measured, memory, env)
    plot(doc, args.plot)
    text = table(doc) + "\n\n" + explain_table(doc) + f"\nplot: {args.plot}"
    if args.json:
        log(text)
        print(json.dumps(doc))
    else:
        print(text)
    return 0


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "?"


if __name__ == "__main__":
    sys.exit(main())
