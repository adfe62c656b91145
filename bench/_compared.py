"""The controller bench's tables and plot: the API against a direct ``/run`` per level
(``Level``), durable acknowledgements against records behind the answers, metrics and
explanations on against off (pooled over ``--pairs``), and this checkout against the other
controllers and itself in a second process, each a CPU cost with the 95 % interval of its
paired chunks (``_paired.py``).

Split from ``controller.py`` (one job: what its sides' samples say, printed and drawn), which
imports it as ``_compared``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _drive import Side  # bench/ is on sys.path (see _report.py)
from _paired import cost
from _report import cdf, cdf_axes, pct, save

AIM = 5.0  # issue 17: metrics and explanations under 5 % of the controller's CPU per invoke


@dataclass
class Durability:
    """One level's comparison: durable acknowledgements against records behind answers."""

    clients: int
    sides: dict[str, Side] = field(default_factory=dict)  # "durable blocking", ...


UNOBSERVED = "unobserved blocking"
"""Blocking invokes on a controller started with ``--no-metrics --no-explain``."""


def observe_table(compared: list[Durability], pairs: int = 1) -> str:
    """Metrics and placement explanations on against off, per level, pooled over ``pairs``
    pairs of controllers (the main controller and the unobserved one, then ``--pairs``
    more): p50 and CPU ms per blocking invoke, the CPU cost in percent with its 95 % interval
    over the paired chunks (``_paired.py``), whether the aim is met, and each pair's cost."""
    rows = [f"{'clients':>7} {'p50 on':>7} {'p50 off':>7} {'CPU/inv on':>10} "
            f"{'CPU/inv off':>11} {'chunks':>6}   {'CPU cost [95 % interval]':<26} "
            f"{f'aim < {AIM:.0f} %':<9}  each pair"]
    for level in compared:
        on, off = pooled(level, pair_names(pairs, True)), pooled(level, pair_names(pairs))
        paid = cost(on.chunks, off.chunks)
        each = ", ".join(f"{cost(level.sides[a].chunks, level.sides[b].chunks).percent:+.1f}"
                         for a, b in zip(pair_names(pairs, True), pair_names(pairs),
                                         strict=True))
        rows.append(f"{level.clients:>7} {pct(on.latencies, 50):>7.2f} "
                    f"{pct(off.latencies, 50):>7.2f} {cpu_ms(on):>10.3f} {cpu_ms(off):>11.3f} "
                    f"{paid.chunks:>6}   {paid.interval():<26} {paid.verdict(AIM):<9}  {each}")
    return "\n".join(rows)


SAME_TREE = "this checkout, a 2nd process"


def spread_table(compared: list[Durability], others: list[str], pairs: int) -> str:
    """This checkout's CPU per blocking invoke against each of ``others`` in percent, with
    the 95 % interval of their paired chunks, and, with two pairs or more, against itself in
    a second process (the second observed controller): two processes of one tree differ by a
    few percent (docs/hotpath.md, sixth round), so a difference no larger than that row's is
    not resolved by a run with one process per side."""
    names = [*others, *([SAME_TREE] if pairs >= 2 else [])]
    rows = [f"{'clients':>7} {'against':<28} {'chunks':>6}   CPU cost [95 % interval]"]
    for level in compared:
        ours = level.sides["durable blocking"].chunks
        for name in names:
            side = pair_names(2, True)[-1] if name == SAME_TREE else name
            paid = cost(ours, level.sides[side].chunks)
            rows.append(f"{level.clients:>7} {name:<28} {paid.chunks:>6}   {paid.interval()}")
    return "\n".join(rows)


def pair_names(pairs: int, observed: bool = False) -> list[str]:
    """The sides of one half of the on/off pairs: the observed ones, or the unobserved."""
    return (["durable blocking"] if observed else [UNOBSERVED]) + [
        f"{'observed' if observed else 'unobserved'} blocking {i}" for i in range(2, pairs + 1)]


def pooled(level: Durability, names: list[str]) -> Side:
    """The sides ``names`` of ``level`` as one (their latencies, chunks and CPU together)."""
    sides = [level.sides[name] for name in names]
    return Side([], {}, {}, latencies=[x for side in sides for x in side.latencies],
                cpu_s=sum(side.cpu_s for side in sides),
                chunks=[chunk for side in sides for chunk in side.chunks])


def cpu_ms(side: Side) -> float:
    """The controller's CPU ms per invoke of ``side``."""
    return side.cpu_s * 1000 / max(1, len(side.latencies))


def durability_table(compared: list[Durability]) -> str:
    """p50/p99 and controller CPU per invoke of each mode, the p50 ratio durable / behind and
    the durable mode's extra CPU per invoke with its 95 % interval over the paired chunks."""
    head = (f"{'clients':>7} {'invoke':<13} {'mode':<8} {'calls':>6} {'p50':>7} {'p99':>7} "
            f"{'CPU/inv':>8}   {'p50 ratio':>9}   CPU cost [95 % interval]")
    lines = [head, "-" * len(head)]
    for level in compared:
        for invoke in ("blocking", "non-blocking"):
            durable, behind = level.sides[f"durable {invoke}"], level.sides[f"behind {invoke}"]
            for mode, side in (("durable", durable), ("behind", behind)):
                ratios = "" if mode == "behind" else (
                    f"   {pct(durable.latencies, 50) / pct(behind.latencies, 50):>9.2f}"
                    f"   {cost(durable.chunks, behind.chunks).interval()}")
                lines.append(f"{level.clients:>7} {invoke:<13} {mode:<8} "
                             f"{len(side.latencies):>6} {pct(side.latencies, 50):>7.2f} "
                             f"{pct(side.latencies, 99):>7.2f} {cpu_ms(side):>8.3f}{ratios}")
    return "\n".join(lines)


@dataclass
class Level:
    """One concurrency level: latencies (ms) through the API and directly, and the records."""

    clients: int
    api: list[float] = field(default_factory=list)
    api_s: float = 0.0  # wall time of the measured API calls
    direct: list[float] = field(default_factory=list)
    direct_s: float = 0.0
    ids: list[str] = field(default_factory=list)
    from_records: list[float] = field(default_factory=list)  # API latency - record duration
    cpu_ms: float = float("nan")  # the controller's CPU time per API invoke (all its threads)


def table(levels: list[Level]) -> str:
    head = (f"{'clients':>7} {'calls':>6} {'API/s':>8} {'API p50':>8} {'API p99':>8} "
            f"{'/run/s':>8} {'/run p50':>8} {'/run p99':>8} {'ovh p50':>8} {'ovh p99':>8} "
            f"{'rec p50':>8} {'ratio':>6} {'CPU/inv':>8}")
    lines = [head, "-" * len(head)]
    for lv in levels:
        lines.append(
            f"{lv.clients:>7} {len(lv.api):>6} {len(lv.api) / lv.api_s:>8.0f} "
            f"{pct(lv.api, 50):>8.2f} {pct(lv.api, 99):>8.2f} "
            f"{len(lv.direct) / lv.direct_s:>8.0f} {pct(lv.direct, 50):>8.2f} "
            f"{pct(lv.direct, 99):>8.2f} {pct(lv.api, 50) - pct(lv.direct, 50):>8.2f} "
            f"{pct(lv.api, 99) - pct(lv.direct, 99):>8.2f} "
            f"{pct(lv.from_records, 50) if lv.from_records else float('nan'):>8.2f} "
            f"{pct(lv.api, 50) / pct(lv.direct, 50):>6.1f} {lv.cpu_ms:>8.2f}")
    return "\n".join(lines)


def plot(levels: list[Level], compared: list[Durability], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (cdf_ax, bar_ax, ack_ax) = plt.subplots(1, 3, figsize=(17, 4.5))
    for lv, color in zip(levels, ("tab:blue", "tab:orange", "tab:green", "tab:red"),
                         strict=False):
        for samples, style, label in ((lv.api, "-", "API"), (lv.direct, "--", "direct /run")):
            cdf(cdf_ax, samples, linestyle=style, color=color,
                label=f"{label}, {lv.clients} client(s)")
    cdf_axes(cdf_ax, "latency (ms, log scale)", "warm no-op: blocking invoke vs direct /run",
             legend_size=7)
    xs = range(len(levels))
    bar_ax.bar([x - 0.2 for x in xs], [pct(lv.api, 50) - pct(lv.direct, 50) for lv in levels],
               0.4, label="p50 (API - direct)")
    bar_ax.bar([x + 0.2 for x in xs],
               [pct(lv.from_records, 50) if lv.from_records else 0 for lv in levels], 0.4,
               label="p50 (API - record duration)")
    bar_ax.axhline(2.0, color="black", linestyle="--", label="aim: 2 ms")
    bar_ax.set_xticks(list(xs), [f"{lv.clients} client(s)" for lv in levels])
    bar_ax.set_ylabel("controller overhead (ms)")
    bar_ax.set_title("the controller's own overhead")
    bar_ax.legend(fontsize=8)
    plot_durability(ack_ax, compared)
    fig.tight_layout()
    save(fig, path)


def plot_durability(ax: Any, compared: list[Durability]) -> None:
    """p50 of each invoke and mode per level: what the guarantee costs where it shows."""
    xs = range(len(compared))
    bars = [("durable blocking", -0.3), ("behind blocking", -0.1),
            ("durable non-blocking", 0.1), ("behind non-blocking", 0.3)]
    for name, offset in bars:
        ax.bar([x + offset for x in xs], [pct(level.sides[name].latencies, 50)
                                          for level in compared], 0.2, label=name)
    ax.set_xticks(list(xs), [f"{level.clients} client(s)" for level in compared])
    ax.set_ylabel("p50 to the answer (ms)")
    ax.set_title("durable acknowledgements vs records behind answers")
    ax.legend(fontsize=8)
