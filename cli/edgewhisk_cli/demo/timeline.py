"""The flow's timeline as a picture: one lane per invoker, one bar per step, arrows for the
artifacts that moved between invokers.

Why a picture: "train_base in the cloud, then every user's collect, refine and predict at
the same time, each on the user's own phone, the base model flowing down to each of them" is
what the table says in twelve lines; the lanes show it at a glance. A bar is a step's
activation (its record's ``start`` to ``end``), labelled with its action and user; a red edge
marks a step whose gate held its model back. An arrow goes from the end of the step that
produced an artifact to the start of each step on another invoker that consumed it: the
bytes crossing the tunnel (a ``local`` artifact never draws one).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .flow_steps import FlowStep

COLOURS = {"collect": "#4c9f70", "train_base": "#3b6ea8", "refine": "#d08c34",
           "predict": "#8a5aa8", "prepare": "#3b6ea8", "features": "#5f8fc0",
           "train": "#d08c34", "validate": "#c0504d", "serve": "#8a5aa8",
           "classify": "#4c9f70", "upload": "#8c6d31", "push": "#8a5aa8"}


def draw(steps: list[FlowStep], started_ms: int, path: Path, title: str) -> Path:
    """Write the timeline of ``steps`` (times in seconds since ``started_ms``) to ``path``."""
    import matplotlib

    matplotlib.use("Agg")  # no display: a file
    import matplotlib.pyplot as plt

    lanes = list(dict.fromkeys(s.invoker for s in sorted(steps, key=lambda s: s.invoker)))
    at = _positions(steps, {invoker: i for i, invoker in enumerate(lanes)})
    fig, ax = plt.subplots(figsize=(11, 1.2 + 0.9 * len(lanes)))
    made: dict[str, FlowStep] = {}
    for step in steps:
        start, took = (step.start_ms - started_ms) / 1000, (step.end_ms - step.start_ms) / 1000
        gated = any("(gated)" in p for p in step.produced)
        y, height = at[step.activation]
        ax.barh(y, took, left=start, height=height,
                color=COLOURS.get(step.action, "#888888"),
                edgecolor="red" if gated or step.error else "black",
                linewidth=2.5 if gated or step.error else 0.5)
        label = step.action if step.user == "-" else f"{step.action} {step.user}"
        ax.text(start + took / 2, y, label, ha="center", va="center", fontsize=6, color="white")
        for out in step.produced:
            made[out.removesuffix("(gated)")] = step
    labelled: set[str] = set()
    for step in steps:
        for key in step.consumed:
            source = made.get(key)
            if source is None or source.invoker == step.invoker:
                continue  # made where it is used: nothing crossed a tunnel
            origin = ((source.end_ms - started_ms) / 1000, at[source.activation][0])
            ax.annotate("", xy=((step.start_ms - started_ms) / 1000, at[step.activation][0]),
                        xytext=origin,
                        arrowprops={"arrowstyle": "->", "color": "#555555", "lw": 0.8})
            if key not in labelled:  # the artifact's name once, where it leaves
                labelled.add(key)
                ax.text(origin[0], origin[1] - 0.36, key, fontsize=7, color="#555555")
    ax.set_yticks(range(len(lanes)), lanes)
    ax.set_ylim(-0.6, len(lanes) - 0.2)
    ax.set_xlim(left=0)
    ax.set_xlabel("seconds since the flow started")
    ax.set_title(title, fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _positions(steps: list[FlowStep], lane: dict[str, int]) -> dict[str, tuple[float, float]]:
    """Each step's bar centre and height: steps that overlap on one invoker (a sweep's
    branches) share its lane in thinner bars, one sub-row each, so none hides another."""
    slots: dict[str, int] = {}
    ends: dict[str, list[int]] = {}  # per invoker: when each sub-row's last bar ends
    for step in sorted(steps, key=lambda s: s.start_ms):
        rows = ends.setdefault(step.invoker, [])
        free = next((i for i, end in enumerate(rows) if end <= step.start_ms), len(rows))
        rows[free:free + 1] = [step.end_ms]
        slots[step.activation] = free
    placed = {}
    for step in steps:
        count = len(ends[step.invoker])
        height = 0.6 / count
        top = lane[step.invoker] + 0.3 - height / 2
        placed[step.activation] = (top - slots[step.activation] * height, height * 0.9)
    return placed
