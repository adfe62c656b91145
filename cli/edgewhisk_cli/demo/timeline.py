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
           "train": "#d08c34", "validate": "#c0504d", "serve": "#8a5aa8"}


def draw(steps: list[FlowStep], started_ms: int, path: Path, title: str) -> Path:
    """Write the timeline of ``steps`` (times in seconds since ``started_ms``) to ``path``."""
    import matplotlib

    matplotlib.use("Agg")  # no display: a file
    import matplotlib.pyplot as plt

    lanes = list(dict.fromkeys(s.invoker for s in sorted(steps, key=lambda s: s.invoker)))
    row = {invoker: i for i, invoker in enumerate(lanes)}
    fig, ax = plt.subplots(figsize=(11, 1.2 + 0.9 * len(lanes)))
    made: dict[str, FlowStep] = {}
    for step in steps:
        start, took = (step.start_ms - started_ms) / 1000, (step.end_ms - step.start_ms) / 1000
        gated = any("(gated)" in p for p in step.produced)
        ax.barh(row[step.invoker], took, left=start, height=0.5,
                color=COLOURS.get(step.action, "#888888"),
                edgecolor="red" if gated or step.error else "black",
                linewidth=2.5 if gated or step.error else 0.5)
        label = step.action if step.user == "-" else f"{step.action} {step.user}"
        ax.text(start + took / 2, row[step.invoker] + 0.33, label, ha="center", fontsize=7)
        for out in step.produced:
            made[out.removesuffix("(gated)")] = step
    labelled: set[str] = set()
    for step in steps:
        for key in step.consumed:
            source = made.get(key)
            if source is None or source.invoker == step.invoker:
                continue  # made where it is used: nothing crossed a tunnel
            origin = ((source.end_ms - started_ms) / 1000, row[source.invoker])
            ax.annotate("", xy=((step.start_ms - started_ms) / 1000, row[step.invoker]),
                        xytext=origin,
                        arrowprops={"arrowstyle": "->", "color": "#555555", "lw": 0.8})
            if key not in labelled:  # the artifact's name once, where it leaves
                labelled.add(key)
                ax.text(origin[0], origin[1] - 0.38, key, fontsize=7, color="#555555")
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
