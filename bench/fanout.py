"""Fan-out: how long an unbound ``{usr}`` takes to bind and place for every user on record.

``edgewhisk bench fanout [--users 100 1000 10000] [--cloud 100] [--repeat 5] [--json]``

The fleet: one edge device per user (owner ``uN``, holding the user's readings
``uN/glucose``; every 20th device lacks the action's kind, so that user has no feasible
device) plus ``--cloud`` shared cloud invokers, all registered with the placement engine.
The action is modelled on the annotation example of docs/architecture.md: a consumed model
chosen by selector, the user's readings with locality ``local``, a 2 s deadline,
``policy.fn(node="{usr}_device", strict=True)`` and a strict company-network data policy.
Each phase of one fan-out is timed: the users on record
(``Engine.owners``), binding every user (``bind_users``), placing them all
(``Engine.place_many``), and the whole ``fan_out`` (median and best of ``--repeat`` runs;
the engine's caches are cleared between runs by a fresh engine). ``--gc`` keeps Python's
garbage collector running during the bulk step, to show what ``fan_out``'s pause saves.
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import statistics
import sys
import time
from typing import Any

from edgewhisk_controller.placement import Engine, InvokerState, PlacementRequest
from edgewhisk_controller.preprocess import bind_users, compile_action, fan_out
from edgewhisk_controller.preprocess.expand import gc_paused

NS = "guest"
ANNOTATION = {
    "version": 1,
    "consumes": [{"kind": "model", "name": "base", "selector": {"type": "classifier"}},
                 {"kind": "data", "name": "readings", "ref": "{usr}/glucose",
                  "locality": "local"}],
    "policies": [{"type": "deadline", "within": "2s"},
                 {"type": "fn", "node": "{usr}_device", "strict": True},
                 {"type": "data", "network": ["company_network"], "strict": True}],
}
ACTION = {"namespace": NS, "name": "refine", "version": "0.0.1",
          "exec": {"kind": "python:3", "code": "def main(a): return a"},
          "limits": {"memory": 256}, "annotations": [{"key": "edgewhisk", "value": ANNOTATION}]}
REQUEST = PlacementRequest(action=f"{NS}/refine", kind="python:3", memory_mb=256, namespace=NS,
                           version="0.0.1")
PY = frozenset({"python:3"})


def fleet(users: int, cloud: int) -> Engine:
    engine = Engine()
    for i in range(users):
        user = f"u{i}"
        engine.register(InvokerState(
            id=f"dev-{user}", kinds=PY if i % 20 else frozenset({"nodejs:default"}),
            memory_mb=2048, free_memory_mb=2048, in_flight=0, role="edge", owner=user,
            site=f"home-{i % 50}", networks=frozenset({"company_network"}),
            cached=frozenset({f"{user}/glucose"}), bandwidth_mbps=50.0))
    for i in range(cloud):
        engine.register(InvokerState(
            id=f"cloud-{i}", kinds=PY, memory_mb=65536, free_memory_mb=65536, in_flight=0,
            role="cloud", site="cloud", networks=frozenset({"company_network"}),
            cached=frozenset({"base"})))
    return engine


def measure(users: int, cloud: int, repeat: int) -> dict[str, Any]:
    compiled = compile_action(ACTION)
    phases: dict[str, list[float]] = {"owners": [], "bind": [], "place": [], "fan_out": []}
    children = excluded = 0
    for _ in range(repeat):
        engine = fleet(users, cloud)
        t0 = time.perf_counter()
        on_record = engine.owners(NS)
        with gc_paused():  # as fan_out does
            t1 = time.perf_counter()
            bounds, _ = bind_users(compiled, {}, on_record)
            t2 = time.perf_counter()
            engine.place_many(REQUEST, bounds)
            t3 = time.perf_counter()
        for name, ms in (("owners", t1 - t0), ("bind", t2 - t1), ("place", t3 - t2)):
            phases[name].append(ms * 1000.0)
        engine = fleet(users, cloud)  # cold caches again for the end-to-end number
        t0 = time.perf_counter()
        result = fan_out(compiled, {}, engine.owners(NS),
                         functools.partial(engine.place_many, REQUEST))
        phases["fan_out"].append((time.perf_counter() - t0) * 1000.0)
        children, excluded = len(result.children), len(result.excluded)
    row: dict[str, Any] = {"users": users, "invokers": users + cloud, "children": children,
                           "excluded": excluded}
    for name, values in phases.items():
        row[f"{name}_ms"] = round(statistics.median(values), 2)
        row[f"{name}_best_ms"] = round(min(values), 2)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="edgewhisk bench fanout", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--cloud", type=int, default=100, help="shared cloud invokers")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--gc", action="store_true",
                        help="do not pause the garbage collector (slower; for comparison)")
    args = parser.parse_args(argv)
    if args.gc:
        gc.disable = lambda: None  # type: ignore[assignment]  # gc_paused becomes a no-op
    rows = [measure(n, args.cloud, args.repeat) for n in args.users]
    if args.json:
        print(json.dumps({"rows": rows}))
        return 0
    head = ("users", "invokers", "children", "excluded", "owners ms", "bind ms", "place ms",
            "fan_out ms", "fan_out best", "per user µs")
    print(" ".join(f"{h:>12}" for h in head))
    for r in rows:
        per_user = 1000.0 * r["fan_out_ms"] / max(r["users"], 1)
        cells = (r["users"], r["invokers"], r["children"], r["excluded"], r["owners_ms"],
                 r["bind_ms"], r["place_ms"], r["fan_out_ms"], r["fan_out_best_ms"],
                 round(per_user, 1))
        print(" ".join(f"{c:>12}" for c in cells))
    print(f"(median of {args.repeat} runs; a fresh engine per run, so placement caches are "
          "cold)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
