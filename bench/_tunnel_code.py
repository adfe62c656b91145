"""The tunnel benchmark's protocol A/B: the same warm activations spoken in tunnel protocol
version 1 and version 2 side by side, in one run of one controller.

What differs between the two: in version 2 a ``run`` frame carries the action's code only
the first time that code goes out on a connection (``Run.code_omitted`` after that), and a
result names what the device kept. So the A/B uses an action with a realistic amount of
source (``PADDING_BYTES`` of it, as a module with its imports, helpers and docstrings has),
where carrying the code or not shows: the bytes of the ``run`` frames a device receives per
warm activation, the controller's CPU per activation and, through two real agents (one told
``--protocol 1``), each agent's CPU per invoke. Both sides in alternating blocks
(``_tunnel_rtt.interleaved``) so that they share the same minutes of a shared machine.
"""

from __future__ import annotations

from typing import Any

from _tunnel_rtt import Side, interleaved

PADDING_BYTES = 16 * 1024
"""Source bytes of the A/B's action besides its ``main`` (a docstring)."""
V1, V2 = "code-v1", "code-v2"
"""The A/B's action on the version-1 side and on the version-2 side."""


def padded(noop: str) -> str:
    """``noop``'s source with ``PADDING_BYTES`` of docstring before it."""
    line = "padding: the rest of a real action's module, its helpers and its docstrings.\n"
    return '"""' + line * (PADDING_BYTES // len(line)) + '"""\n' + noop


def ab_results(sides: dict[str, Side], pids: dict[str, int], run_bytes: dict[str, float],
               background: dict[str, float]) -> dict[str, Any]:
    """The A/B's numbers: per side its round trip, the controller's (less its ``background``
    cores: the fleet's heartbeats) and its agent's CPU per invoke, the ``run`` bytes per warm
    activation, and version 2 / version 1 ratios."""
    out: dict[str, Any] = {"padding_bytes": PADDING_BYTES}
    for name, side in sides.items():
        summary = side.summary(pids, background)
        out[name] = {"p50": summary["p50"], "p99": summary["p99"],
                     "controller_cpu_ms": summary["cpu_ms"]["controller"],
                     "agent_cpu_ms": summary["cpu_ms"][f"agent_{name}"],
                     "run_bytes": run_bytes[name]}
    v1, v2 = out[V1], out[V2]
    out["ratio"] = {key: v2[key] / max(1e-9, v1[key])
                    for key in ("p50", "controller_cpu_ms", "agent_cpu_ms", "run_bytes")}
    return out


def ab_rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    """The table's rows of the A/B (label, value)."""
    v1, v2, ratio = r[V1], r[V2], r["ratio"]
    return [
        (f"protocol 1 vs 2, warm action of {r['padding_bytes'] // 1024} KB of source:", ""),
        ("  run frame bytes per warm activation, v1 / v2",
         f"{v1['run_bytes']:.0f} / {v2['run_bytes']:.0f}"),
        ("  round trip p50 (ms), v1 / v2", f"{v1['p50']:.2f} / {v2['p50']:.2f}"),
        ("  controller CPU per invoke (ms, less heartbeats), v1 / v2",
         f"{v1['controller_cpu_ms']:.3f} / {v2['controller_cpu_ms']:.3f}"),
        ("  agent CPU per invoke (ms), v1 / v2",
         f"{v1['agent_cpu_ms']:.3f} / {v2['agent_cpu_ms']:.3f}"),
        ("  v2 / v1: bytes, controller CPU, agent CPU, p50",
         f"{ratio['run_bytes']:.2f} {ratio['controller_cpu_ms']:.2f} "
         f"{ratio['agent_cpu_ms']:.2f} {ratio['p50']:.2f}"),
    ]


BYTES_CALLS = 10
"""Warm activations whose ``run`` bytes are counted, per side."""


async def protocol_ab(invoke: Any, where: Any, calls: int, warmup: int, pids: dict[str, int],
                      sims: dict[str, Any], background: dict[str, float]) -> dict[str, Any]:
    """The A/B: ``calls`` warm round trips of ``V1`` (on the agent told ``--protocol 1``) and
    ``V2`` in alternating blocks, with the CPU of every process in ``pids`` (``controller``,
    ``agent_code-v1``, ``agent_code-v2``); then the bytes of the ``run`` frames a simulated
    invoker of each version (``sims``) receives per warm activation of ``bytes-V1``/``-V2``
    (the same padded action, after one cold activation that brings the code).
    ``background``: the cores each process spends whatever the calls (the controller's on the
    fleet's heartbeats), subtracted from its CPU per invoke."""
    sides = await interleaved(invoke, where, (V1, V2), calls, warmup, pids, "protocol 1 vs 2")
    run_bytes = {}
    for name, sim in sims.items():
        await invoke(f"bytes-{name}")
        before = sim.run_bytes
        for _ in range(BYTES_CALLS):
            await invoke(f"bytes-{name}")
        run_bytes[name] = (sim.run_bytes - before) / BYTES_CALLS
    return ab_results(sides, pids, run_bytes, background)
