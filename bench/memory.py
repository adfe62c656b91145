"""Benchmark of memory against activations served: does a controller's memory stay bounded?

Why: a controller serves many thousands of devices for months (issue 18), so whatever it keeps
per activation or per connection must have a bound, or it grows until it is killed. This bench
measures the curve: the RSS of each process after each round of activations.

- **local**: a real controller (``edgewhisk_devkit.Controller``, embedded defaults: SQLite and
  local blobs, one local invoker on the process backend, ``UNLIMITED`` rate) and a warm no-op
  action placed on its local invoker (``policy.fn(node="local0", strict=True)``), invoked
  blocking through the REST API by ``--clients`` threads (one kept-alive connection each), in
  ``--rounds`` rounds of ``--per-round``; the controller's RSS after each round.
- **tunnel**: the same controller, a no-op placed on one real edge agent
  (``edgewhisk_devkit.Agent``, process backend) through the tunnel; the controller's and the
  agent's RSS after each round.
- **the peer**, side by side in the same run: the bare aiohttp server of ``_floor.py`` (reads
  a JSON body, answers JSON: nothing kept per request) given the same number of requests by
  the same client code in the same rounds, its RSS after each of its rounds. It is what a
  Python server on this stack does when it keeps nothing: the allocator's own settling.

Per phase, a table: activations served, RSS MB of each process; then each process's growth in
KB per 1,000 activations over the first half of the rounds and over the second half, their
ratio (second / first, when the first grew), and the controller's second-half growth less the
bare server's. Row 0 is taken after a warm-up (``--warmup`` calls of each target, not
counted), so imports and first-call caches are not charged to the rounds.

What "flat" should mean. Every structure the controller keeps per activation or connection
has a bound, so past the bounds the curve flattens; until they fill, it may rise:

- ``tunnel/pending.DONE_KEPT`` (256) activation ids remembered per connected invoker after
  their result came, and ``HISTORY`` (10,000) of those given up on (none here): a late or
  duplicate result is told from a foreign one; the tunnel phase fills the first at once;
- ``edgewhisk_tunnel.CODES_KEPT`` (256) code keys per connection, on each end;
- the SQLite store's point-read rows (``stores/sqlite_reads.KEPT``, 1,024) and the
  revisions each fact remembers (``schema/revisions.KEPT``, 1,024); SQLite's own page cache
  (``stores/sqlite.CACHE_KIB`` per connection, three connections), which fills as the
  activations table grows, over the first several thousand activations; the read cache of
  ``stores/readcache.py`` (10,000 documents) is the CouchDB store's, not used here;
- the compiled actions (``preprocess/compiler.CACHE_SIZE``, 4,096, LRU) and the placement
  cache (``placement/cache.py``: ``PIECES`` entries within ``CACHE_BYTES``, 64 MB);
- metrics: histograms with fixed buckets, activation counters by namespace, action,
  status and invoker: one action per phase here, so a constant few;
- in flight: pending activations are forgotten once answered (``--clients`` at a time).
  The records themselves go to the store (on disk, not in memory).

RSS includes the allocator's retained memory: freed objects leave their arenas in the process
(pymalloc and glibc hand little back), and ``gc.collect`` cannot be called in the controller
from outside, so a curve shows the high-water mark of the live heap plus fragmentation, never a
decrease. A bounded process's curve rises while its caches fill and then flattens (a second
half near 0 KB / 1,000, near the bare server's); a leak keeps the same slope in both halves
(a ratio near 1).

Prints the tables (``--json``: one JSON document) and writes bench/out/memory.png.

    python bench/memory.py [--rounds 10] [--per-round 2000] [--clients 4] [--quick] [--json]
    edgewhisk bench memory [...]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import requests

# bench/ is on sys.path (see _report.py)
from _floor import bare_server
from _report import failed, outputs, progress, report, save
from _report import table as text_table
from _rss import rss_mb
from edgewhisk_cli.action import python_action
from edgewhisk_devkit import UNLIMITED, Agent, Controller, tunnel_url

CONTROLLER, AGENT, BARE = "controller", "agent", "bare aiohttp"
LOCAL, TUNNEL = "local", "tunnel"
PHASES = {LOCAL: "local0", TUNNEL: "bench-edge"}
"""Each phase's no-op action and the invoker its policy puts it on (strict)."""
NOOP = '''from edgewhisk import policy


@policy.fn(node="{node}", strict=True)
def main(args):
    return {{"ok": True}}
'''
LOGS = ("controller.log", "agent.log", "bare-aiohttp.log")
COLORS = {CONTROLLER: "tab:blue", AGENT: "tab:orange", BARE: "tab:green"}


def post_all(url: str, auth: tuple[str, str], calls: int, clients: int) -> None:
    """``calls`` posts of ``{}`` to ``url`` by ``clients`` threads, each with one kept-alive
    connection (a ``requests.Session``): the same client code for the controller and the bare
    server. Raises on any answer but 200."""
    lock, left, errors = threading.Lock(), [calls], []

    def client() -> None:
        with requests.Session() as session:
            session.auth = auth
            while True:
                with lock:
                    if left[0] <= 0 or errors:
                        return
                    left[0] -= 1
                answer = session.post(url, json={}, timeout=120)
                if answer.status_code != 200:
                    errors.append(f"{url}: HTTP {answer.status_code}: {answer.text[:300]}")

    threads = [threading.Thread(target=client, name=f"client {n}") for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(errors[0])


def measure_phase(targets: dict[str, tuple[str, dict[str, int]]], auth: tuple[str, str],
                  args: argparse.Namespace, label: str) -> list[dict[str, Any]]:
    """``targets``: name -> (URL, {process: pid} whose RSS its calls are charged). Each URL is
    warmed (``args.warmup`` calls), then ``args.rounds`` rounds: each URL in turn gets
    ``args.per_round`` posts, after which its processes' RSS is read. The rows: activations
    served in the phase (row 0: after the warm-up), each process's RSS (MB) and the seconds
    since row 0 (every target's rounds: the controller's and the bare server's)."""
    for url, _ in targets.values():
        post_all(url, auth, args.warmup, args.clients)
    started = time.perf_counter()
    rows = [{"activations": 0, "rss_mb": {name: rss_mb(pid) for _, pids in targets.values()
                                          for name, pid in pids.items()}, "seconds": 0.0}]
    for n in range(1, args.rounds + 1):
        latest: dict[str, float] = {}
        for url, pids in targets.values():
            post_all(url, auth, args.per_round, args.clients)
            latest.update({name: rss_mb(pid) for name, pid in pids.items()})
        rows.append({"activations": n * args.per_round, "rss_mb": latest,
                     "seconds": round(time.perf_counter() - started, 2)})
        progress(f"{label} rounds", n, args.rounds)
    return rows


def kb_per_1000(rows: list[dict[str, Any]], name: str, start: int, end: int) -> float:
    """``name``'s RSS growth from row ``start`` to row ``end``, in KB per 1,000 activations."""
    kb = (rows[end]["rss_mb"][name] - rows[start]["rss_mb"][name]) * 1024
    return round(kb * 1000 / (rows[end]["activations"] - rows[start]["activations"]), 2)


def growth(rows: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Per process: KB / 1,000 activations over the first half of the rounds and over the
    second half, and their ratio (None when the first half did not grow: no slope to flatten)."""
    mid, last = (len(rows) - 1) // 2, len(rows) - 1
    grown: dict[str, dict[str, float | None]] = {}
    for name in rows[0]["rss_mb"]:
        first, second = kb_per_1000(rows, name, 0, mid), kb_per_1000(rows, name, mid, last)
        grown[name] = {"first_half": first, "second_half": second,
                       "ratio": round(second / first, 2) if first > 0 else None}
    return grown


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A phase's rows, growths and the controller's second-half growth less the bare server's."""
    grown = growth(rows)
    return {"rows": rows, "growth_kb_per_1000": grown,
            "controller_minus_bare_kb_per_1000": round(
                (grown[CONTROLLER]["second_half"] or 0.0) - (grown[BARE]["second_half"] or 0.0),
                2)}


def deploy(controller: Controller, folder: Path) -> None:
    """Each phase's no-op, placed by ``policy.fn(node=..., strict=True)``."""
    with controller.client() as client:
        for name, node in PHASES.items():
            source = folder / f"{name}.py"
            source.write_text(NOOP.format(node=node))
            client.actions.put(name, python_action(name, source))


def check_placement(controller: Controller, action: str) -> None:
    """One blocking invoke of ``action``: it must succeed on the invoker its policy names."""
    with controller.client() as client:
        record = client.actions.invoke(action, {})
    ran_on = record.annotation("invoker")
    if not record.success or ran_on != PHASES[action]:
        raise RuntimeError(f"{action}: ran on {ran_on!r} (wanted {PHASES[action]}): "
                           f"{record.record}")


@contextmanager
def edge_agent(controller: Controller, tmp: Path) -> Iterator[Agent]:
    """One real agent (process backend) registered through the tunnel; stopped by pid."""
    with controller.client() as client:
        token = str(client.tokens.create(PHASES[TUNNEL])["token"])
    agent = Agent(tunnel_url(controller.api_host), token, "--backend", "process", "--memory",
                  "1024", "--no-battery", id=PHASES[TUNNEL], log=tmp / "agent.log",
                  own_group=True).start()
    try:
        agent.wait_registered()
        yield agent
    finally:
        agent.stop()


def run(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    results: dict[str, Any] = {"rounds": args.rounds, "per_round": args.per_round,
                               "clients": args.clients, "warmup": args.warmup,
                               "loadavg_start": round(os.getloadavg()[0], 2)}
    with ExitStack() as stack:
        controller = stack.enter_context(Controller(
            tmp / "data", "--invokers", "1", "--log-level", "WARNING", *UNLIMITED,
            host="127.0.0.1", log=tmp / "controller.log"))
        bare_url, bare_pid = stack.enter_context(bare_server(tmp))
        results["controller_pid"], results["bare_pid"] = controller.pid, bare_pid
        user, _, key = controller.auth.partition(":")
        auth = (user, key)
        deploy(controller, tmp)
        with controller.client() as client:
            invoke = {name: client.url(f"actions/{name}?blocking=true&result=true")
                      for name in PHASES}
        bare = (bare_url, {BARE: bare_pid})
        phases: dict[str, Any] = {}
        check_placement(controller, LOCAL)
        phases[LOCAL] = summary(measure_phase(
            {LOCAL: (invoke[LOCAL], {CONTROLLER: controller.pid}), BARE: bare}, auth, args,
            LOCAL))
        agent = stack.enter_context(edge_agent(controller, tmp))
        results["agent_pid"] = agent.pid
        check_placement(controller, TUNNEL)
        phases[TUNNEL] = summary(measure_phase(
            {TUNNEL: (invoke[TUNNEL], {CONTROLLER: controller.pid, AGENT: agent.pid}),
             BARE: bare}, auth, args, TUNNEL))
    results["phases"] = phases
    results["loadavg_end"] = round(os.getloadavg()[0], 2)
    return results


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def phase_table(phase: str, doc: dict[str, Any]) -> str:
    """The phase's rows (activations, each process's RSS MB), then each process's growth."""
    rows, grown = doc["rows"], doc["growth_kb_per_1000"]
    names = list(rows[0]["rss_mb"])
    curve = text_table([("activations", 11), *((f"{name} MB", len(name) + 5) for name in names)],
                       [[f"{row['activations']:,}", *(f"{row['rss_mb'][n]:.2f}" for n in names)]
                        for row in rows])
    slopes = text_table([("KB / 1,000 activations", -22), ("first half", 10),
                         ("second half", 11), ("second / first", 14)],
                        [[name, _cell(g["first_half"]), _cell(g["second_half"]),
                          _cell(g["ratio"])] for name, g in grown.items()])
    seconds = rows[-1]["seconds"]
    return (f"{phase} phase: RSS after each round ({seconds:.0f} s for the controller's and the "
            f"bare server's rounds)\n{curve}\n\n{slopes}\n"
            f"controller's second-half growth less the bare server's: "
            f"{doc['controller_minus_bare_kb_per_1000']:.2f} KB / 1,000 activations")


def table(r: dict[str, Any]) -> str:
    head = (f"{r['rounds']} rounds of {r['per_round']:,} blocking invokes per phase, "
            f"{r['clients']} client threads (load {r['loadavg_start']} -> {r['loadavg_end']})")
    return "\n\n".join([head, *(phase_table(phase, doc) for phase, doc in r["phases"].items())])


def plot(r: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(r["phases"]), figsize=(12, 4.5), squeeze=False)
    for ax, (phase, doc) in zip(axes[0], r["phases"].items(), strict=True):
        served = [row["activations"] for row in doc["rows"]]
        for name in doc["rows"][0]["rss_mb"]:
            ax.plot(served, [row["rss_mb"][name] for row in doc["rows"]], "o-", label=name,
                    color=COLORS[name])
        ax.set_xlabel("activations served in the phase")
        ax.set_ylabel("RSS (MB)")
        ax.set_title(f"{phase}: RSS against activations served")
        ax.legend(loc="center right")
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    save(fig, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10, help="rounds per phase")
    parser.add_argument("--per-round", type=int, default=2000,
                        help="blocking invokes (and bare requests) per round")
    parser.add_argument("--clients", type=int, default=4, help="client threads")
    parser.add_argument("--warmup", type=int, default=200,
                        help="calls of each target before the first row, not counted")
    outputs(parser, "memory", quick="4 rounds of 50, 2 clients, 10 warm-up calls")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.per_round, args.clients, args.warmup = 4, 50, 2, 10
    if args.rounds < 2 or min(args.per_round, args.clients) < 1 or args.warmup < 0:
        parser.error("--rounds must be at least 2 (two halves), --per-round and --clients "
                     "positive")
    with tempfile.TemporaryDirectory(prefix="edgewhisk-bench-memory-") as tmp:
        try:
            results = run(args, Path(tmp))
        except Exception as exc:
            return failed("memory", exc, Path(tmp), LOGS)
    return report(results, args.out, args.json, plot, table)


if __name__ == "__main__":
    sys.exit(main())
