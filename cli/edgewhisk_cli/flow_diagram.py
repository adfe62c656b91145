"""A flow's pipeline diagram as a PNG: one box per step, left to right in Composer's order.

Why a picture: the annotations of four to six files say where each step may run, what it
reads and writes and which gates judge it; one row of boxes shows the pipeline a reader would
otherwise rebuild in their head. A box is coloured by where its policies let it run (cloud,
a device, a network, anywhere), lists its artifacts in and out and its gates (red); a step
``map`` or ``parallel`` runs side by side is drawn as a stack, one run only on some outcomes
(an ``if`` branch) with a dashed edge. Grey arrows are the control flow, blue arcs the
artifacts a later step consumes, labelled with their ref (dashed: a candidate for an artifact
the later step chooses by selector).
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from .flow_graph import Pipeline, Step

WIDTH, GAP = 2.6, 0.9  # a box's width and the space between boxes, in inches (data units)
WRAP = 44  # characters a box's line holds
BEND = 0.3  # the artifact arcs' curvature: an arc rises BEND / 2 of its length
KINDS = {"cloud": ("#3b6ea8", "runs in the cloud"), "device": ("#4c9f70", "runs on a device"),
         "network": ("#d08c34", "confined to a network"), "any": ("#888888", "anywhere")}


def draw(pipeline: Pipeline, path: Path) -> Path:
    """Write ``pipeline``'s diagram to ``path`` (a PNG)."""
    import matplotlib

    matplotlib.use("Agg")  # no display: a file
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch

    boxes = [_lines(step) for step in pipeline.steps]
    height = max(0.22 * len(lines) + 0.3 for lines in boxes)
    count = len(pipeline.steps)
    span = max([m.target - m.source for m in pipeline.moves], default=0) * (WIDTH + GAP)
    fig, ax = plt.subplots(figsize=(max(6.0, count * (WIDTH + GAP)),
                                    height + 1.4 + span * BEND / 2))
    for i, (step, lines) in enumerate(zip(pipeline.steps, boxes, strict=True)):
        x = i * (WIDTH + GAP)
        colour = KINDS[kind(step)][0]
        for shadow in ((0.16, 0.08) if step.runs != "once" else ()):
            ax.add_patch(FancyBboxPatch((x + shadow, -shadow), WIDTH, height,
                                        boxstyle="round,pad=0.04", facecolor="white",
                                        edgecolor=colour, linewidth=1))
        ax.add_patch(FancyBboxPatch((x, 0), WIDTH, height, boxstyle="round,pad=0.04",
                                    facecolor="white", edgecolor=colour, linewidth=2,
                                    linestyle="--" if step.conditional else "-"))
        _write(ax, x, height, step, lines, colour)
        if i:
            ax.add_patch(FancyArrowPatch((x - GAP + 0.05, height / 2), (x - 0.05, height / 2),
                                         arrowstyle="-|>", mutation_scale=14, color="#777777"))
    top = height + 0.05
    for n, move in enumerate(pipeline.moves):
        start = move.source * (WIDTH + GAP) + WIDTH * (0.6 + 0.05 * (n % 4))
        end = move.target * (WIDTH + GAP) + WIDTH * 0.3
        ax.add_patch(FancyArrowPatch((start, top), (end, top),
                                     connectionstyle=f"arc3,rad=-{BEND}", arrowstyle="-|>",
                                     mutation_scale=12, color="#2a6fb0",
                                     linestyle="--" if move.selected else "-"))
        ax.text((start + end) / 2, top + (end - start) * BEND / 2 + 0.1, move.ref,
                ha="center", fontsize=7, color="#2a6fb0")
    rise = max([(m.target - m.source) * (WIDTH + GAP) * BEND / 2 for m in pipeline.moves],
               default=0.0)
    used = dict.fromkeys(kind(s) for s in pipeline.steps)
    ax.legend(handles=[Patch(edgecolor=KINDS[k][0], facecolor="white", label=KINDS[k][1])
                       for k in used], loc="lower center", ncol=len(used), fontsize=7,
              frameon=False, bbox_to_anchor=(0.5, -0.02))
    ax.set_xlim(-0.3, count * (WIDTH + GAP) - GAP + 0.4)
    ax.set_ylim(-0.7, height + rise + 0.5)
    ax.set_axis_off()
    dashed = "; dashed: chosen by selector" if any(m.selected for m in pipeline.moves) else ""
    ax.set_title(f"{pipeline.name}: {count} steps (arrows: control flow; arcs: artifacts"
                 f"{dashed})", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def kind(step: Step) -> str:
    """Which colour: the cloud, a device, a network, or anywhere (the first that its policies
    name, in that order)."""
    where = step.where()
    if "node cloud" in where:
        return "cloud"
    if "_device" in where or "node edge" in where:
        return "device"
    return "network" if "network " in where else "any"


def _lines(step: Step) -> list[tuple[str, str]]:
    """The box's text lines, each with its colour."""
    out = [("on " + line, "#333333") for line in textwrap.wrap(step.where(), WRAP)]
    for title, items, colour in (("in", step.consumes(), "#333333"),
                                 ("out", step.produces(), "#333333"),
                                 ("gate", step.gates(), "#c0392b")):
        for item in items:
            out += [(line, colour) for line in textwrap.wrap(f"{title}: {item}", WRAP)]
    return out


def _write(ax: Any, x: float, height: float, step: Step, lines: list[tuple[str, str]],
           colour: str) -> None:
    title = step.action + ("" if step.runs == "once" else f"  ({step.runs})")
    ax.text(x + 0.08, height - 0.18, title, fontsize=9, fontweight="bold", color=colour,
            va="center")
    for row, (line, tint) in enumerate(lines):
        ax.text(x + 0.08, height - 0.45 - 0.22 * row, line, fontsize=6.5, color=tint,
                va="center", family="monospace")
