"""The fleet benchmark's real-tunnel sample (``bench/fleet.py``): the same kind of phones as
the simulated fleet, but as ``edgewhisk invoker`` agents dialling a real controller's tunnel.

Why a sample: a thousand agent processes do not fit on two shared cores, and the simulated
fleet already runs the controller's own placement, standing preloads and predictor; what it
cannot show is the cost of a context event *end to end* (the WebSocket frame, its decoding,
the tunnel session, the hub's change detection, placement's columns, the standing policies
it wakes). So a seeded sample of agents runs the agent's documented battery simulator and
network schedule: each starts on mobile data (``--metered-network cell``), unplugged and
draining, is plugged in after ``plug`` seconds and joins its home network after ``join``
seconds; its battery moves a report step every second or two, so it keeps reporting. One
standing policy (``{"role": "edge", "charging": true, "unmetered": true}``) must put the
model on every phone once both hold, never before.

Measured over ``window_s`` once every agent registered: the controller process's CPU
(utime + stime from ``/proc``) and the context frames its tunnel received (the invokers'
``context_reports``); their ratio is an upper bound of the CPU per context event (it also
holds the heartbeats and metrics of the sample and the controller's idle work). Then: the
phones holding the model at the end, and preloads decided before the agent could have been
both plugged in and unmetered (must be 0).
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import time
from pathlib import Path
from typing import Any

from edgewhisk_devkit import AgentSpec, Fleet
from tunnel import cpu_seconds, start_controller  # bench/ is on sys.path (see _report.py)

MODEL = b"the sample's site model " * 2048
NAME = "sample/model"
PERIOD_S = 100_000
CONTEXT_INTERVAL_S = 0.2


def _spec(i: int, rng: random.Random, window_s: float) -> tuple[AgentSpec, float]:
    """Phone ``i`` and the seconds after its start when it is both plugged in and unmetered."""
    plug, join = rng.uniform(1.0, window_s / 2), rng.uniform(1.0, window_s / 2)
    sim = (f"level=0.6,idle=0.004,load=0,charge=0.01,period={PERIOD_S},"
           f"plugged={PERIOD_S - plug:.3f}")
    return AgentSpec(f"s{i}-phone", (
        "--owner", f"s{i}", "--memory", "256", "--context-interval", str(CONTEXT_INTERVAL_S),
        "--battery-sim", sim, "--network", "cell", "--metered-network", "cell",
        "--network-schedule", f"{join:.3f}:+home_s{i}")), max(plug, join)


def _reports(client: Any) -> int:
    return sum(int(i.get("context_reports", 0)) for i in client.invokers())


def tunnel_sample(devices: int, seed: int, window_s: float, workdir: Path) -> dict[str, Any]:
    """Run the sample; its row of the report."""
    rng = random.Random(seed)
    specs = [_spec(i, rng, window_s) for i in range(devices)]
    with start_controller(workdir) as controller, controller.client() as client:
        client.artifacts.put(NAME, MODEL, kind="model",
                             sha256=hashlib.sha256(MODEL).hexdigest())
        client.artifacts.add_preload_policy(NAME, {"role": "edge", "charging": True,
                                                   "unmetered": True})
        started: dict[str, float] = {}
        with contextlib.ExitStack() as agents:
            for spec, _ in specs:  # one at a time: each started after this time
                started[spec.id] = time.time()
                agents.enter_context(Fleet(client, [spec], workdir,
                                           stores=workdir / "stores"))
            cpu, reports, begun = cpu_seconds(controller.pid), _reports(client), time.monotonic()
            time.sleep(window_s)
            cpu = cpu_seconds(controller.pid) - cpu
            reports = _reports(client) - reports
            elapsed = time.monotonic() - begun
            time.sleep(2 * CONTEXT_INTERVAL_S + 1.0)  # the last plug-ins' preloads land
            (policy,) = client.artifacts.preload_policies(NAME)
            held = {i["id"] for i in client.invokers()
                    if any(key.startswith(f"guest/{NAME}@") for key in i.get("cached", []))}
    ready = {spec.id: started[spec.id] + need for spec, need in specs}
    decided = [d for d in policy["decisions"] if d["status"] == "preloaded"]
    early = [d for d in decided if d["at"] / 1000 < ready[d["invoker"]]]
    return {"devices": devices, "window_s": round(elapsed, 2), "context_events": reports,
            "controller_cpu_s": round(cpu, 4),
            "cpu_us_per_event": round(1e6 * cpu / reports, 1) if reports else None,
            "preloaded": len(decided), "held_at_end": len(held & set(ready)),
            "unsafe_preloads": len(early)}
