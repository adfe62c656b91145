"""The tunnel benchmark's saturation runs: activations per second with ``concurrency`` blocking
invokes in flight, and where their CPU goes, per activation and per process.

Why per process: a tunnelled activation costs the controller, the agent and the action's proxy
(a child of the agent), and a local one the controller and its proxy (a child of the
controller); the bench and its simulated devices run beside them on the same cores. Each
group's CPU is read from ``/proc`` (utime + stime of the process and of its descendants, the
action proxies) around each run, so it is charged to that run's activations.

Why the fleet's heartbeats are subtracted: the controller spends ``background`` cores on the
connected devices whatever the activations; a slower run would be charged more of it.

Why a warm-up at the same concurrency first: the pool starts as many proxies as there are
activations in flight (as its memory allows); their cold starts are not the steady state.

Why runs in ABBA order, each side split in two halves: the load on a shared machine drifts
within a minute; alternating puts every side in the same minutes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from _paired import plan
from _report import progress
from _tunnel_rtt import cpu_seconds
from edgewhisk_devkit import descendants


def group_cpu_s(pid: int) -> tuple[float, float]:
    """(CPU seconds of ``pid``, of its descendants alive now)."""
    own = cpu_seconds(pid)
    children = 0.0
    for child in descendants(pid):
        try:
            children += cpu_seconds(child)
        except OSError:  # ended meanwhile
            continue
    return own, children


HARNESS = "bench"
"""The bench's own process (its HTTP client and simulated devices): its CPU alone, since the
controller and the agents are its descendants."""


def snapshot(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds of each named process and, as ``NAME proxies``, of its descendants (but
    ``HARNESS``'s: its own only)."""
    out: dict[str, float] = {}
    for name, pid in pids.items():
        if name == HARNESS:
            out[name] = cpu_seconds(pid)
        else:
            out[name], out[f"{name} proxies"] = group_cpu_s(pid)
    return out


async def saturate(invoke: Callable[[str], Awaitable[Any]], name: str, activations: int,
                   concurrency: int, pids: dict[str, int]) -> tuple[float, dict[str, float]]:
    """``activations`` blocking invokes of ``name``, ``concurrency`` in flight: the seconds
    it took and the CPU seconds of each group in ``snapshot(pids)``."""
    queue = iter(range(activations))
    done = 0

    async def worker() -> None:
        nonlocal done
        for _ in queue:
            await invoke(name)
            done += 1
            progress(f"{name} activations", done, activations)

    before, start = snapshot(pids), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed, after = time.perf_counter() - start, snapshot(pids)
    return elapsed, {key: after[key] - before.get(key, 0.0) for key in after}


async def saturation(invoke: Callable[[str], Awaitable[Any]], actions: tuple[str, ...],
                     activations: int, concurrency: int, pids: dict[str, int],
                     background: dict[str, float]) -> dict[str, dict[str, float]]:
    """Each of ``actions`` at saturation, in two halves in ABBA order: per action its
    activations/s (``per_s``) and ms of CPU per activation of each process group (the
    ``background`` cores of a group, the fleet's heartbeats, subtracted)."""
    for action in actions:  # the proxies this concurrency needs are started before
        await saturate(invoke, action, 2 * concurrency, concurrency, pids)
    seconds = dict.fromkeys(actions, 0.0)
    cpu: dict[str, dict[str, float]] = {action: {} for action in actions}
    half = max(1, activations // 2)
    count = 2 * half
    for _, runs in plan(actions, count, half):
        for action, n in runs:
            elapsed, used = await saturate(invoke, action, n, concurrency, pids)
            seconds[action] += elapsed
            for key, value in used.items():
                cpu[action][key] = cpu[action].get(key, 0.0) + value
    out: dict[str, dict[str, float]] = {}
    for action in actions:
        row = {"per_s": count / max(1e-9, seconds[action])}
        for key, used in cpu[action].items():
            net = used - background.get(key, 0.0) * seconds[action]
            row[key] = 1000 * max(0.0, net) / count
        out[action] = row
    return out


def saturation_rows(r: dict[str, dict[str, float]]) -> list[tuple[str, str]]:
    """The table's rows (label, value): per action its rate and CPU per activation."""
    rows = [("saturation: activations/s; CPU per activation (ms): controller, its", ""),
            ("  proxies, agent, agent's proxies, the bench (fleet heartbeats subtracted)", "")]
    for action, row in r.items():
        rows.append((f"  {action}: {row['per_s']:.0f}/s",
                     f"{row['controller']:.2f} {row['controller proxies']:.2f} "
                     f"{row['agent']:.2f} {row['agent proxies']:.2f} {row[HARNESS]:.2f}"))
    return rows
