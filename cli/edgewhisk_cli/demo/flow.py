"""``edgewhisk demo --flow``: the personal assistant as one Composer flow.

What it shows: the story of the paper's Figure 1 (pipeline 3) written as plain Composer
JavaScript (``composer_flows/hierarchical.js``), compiled and deployed by Composer's own tools
and run by the controller: ``train_base`` on the cloud node, then Composer's ``map`` over the
users, each user's ``collect``, ``refine`` (its bias gate is the per-user validation gate) and
``predict`` on the user's own device, the per-user results joined. The map's branches wait for
each other in Redis (``edgewhisk_devkit.Redis``, given to the controller as
``--composer-redis``).

Why the steps are read back from the controller: the flow is one invoke; what ran where is in
the activation records (``invoker``; ``placement``: the engine's reasons, when the controller
records them; ``gates``: the verdicts), and what each step consumed and produced is in the
registry (a produced version's ``lineage``). :func:`flow_steps` puts those together, one
:class:`FlowStep` per component activation, which the table and the timeline draw.
"""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgewhisk_client import Activation
from edgewhisk_client.display import table

from ..artifact import verdicts_cell
from .calls import DemoError, answering
from .composer import check_composer, compose_and_deploy
from .flow_steps import FlowStep, flow_steps, why
from .steps import ACTIONS, Demo
from .timeline import draw

if TYPE_CHECKING:
    from edgewhisk_devkit import Controller

__all__ = ["FLOW", "NAME", "FlowStep", "Story", "check_composer", "flow_steps", "report", "why"]

FLOW = "hierarchical.js"
NAME = "assistant"
SCORED = 3  # held-out readings each device scores with its refined model


@dataclass
class Story:
    """The flow's run: what to deploy (``path``), for whom; then its record and steps."""

    path: Path
    workdir: Path
    users: list[str]
    readings: int
    demo: Demo | None = None
    record: dict[str, Any] = field(default_factory=dict)
    steps: list[FlowStep] = field(default_factory=list)

    def run(self, demo: Demo, controller: Controller) -> None:
        """Deploy the actions and the flow, invoke it once, read its steps back."""
        demo.progress(f"deploy: PUT {', '.join(ACTIONS)} through the API")
        demo.deploy()
        demo.progress(f"compose {self.path.name} and deploy it as {NAME} (Composer's own "
                      "compose and deploy)")
        compose_and_deploy(NAME, self.path, self.workdir, controller.api_host, controller.auth)
        demo.progress(f"invoke: {NAME} ({', '.join(self.users)}): train_base in the cloud, "
                      "then per user (map) collect, refine, predict on its device")
        self.record = invoke_flow(demo, self.users, self.readings).record
        with answering("read the flow's steps back", demo.controller_log):
            registry = demo.client.artifacts.list(limit=200)
            self.steps = flow_steps(demo.client, self.record["start"], registry)


def report(story: Story, png: Path) -> None:
    """The flow's tables on stdout, and its timeline drawn into ``png``."""
    started = int(story.record["start"])
    print(f"the flow's steps (each an activation placed by its own action's policy; AT: "
          f"seconds into the flow):\n\n{steps_table(story.steps, started)}\n")
    print("gate verdicts (the platform's, from each activation's gates annotation):")
    print("\n".join(verdict_lines(story.steps)) or "-")
    print(f"\nthe flow's own result ({NAME}, activation {story.record['activationId']}):")
    print(result_text(story.record["response"]["result"]))
    if story.demo is not None:
        print("\nwhere the bytes went (the access logs of the blob store and every node store):")
        print("\n".join(story.demo.verdicts))
    drawn = draw(story.steps, started, png, f"{NAME}: composer_flows/{FLOW}, "
                                           f"{len(story.users)} users")
    print(f"\ntimeline: {drawn}")


def result_text(result: Mapping[str, Any], width: int = 120) -> str:
    """The flow's result as JSON, one top-level entry (and one user) a paragraph, wrapped."""
    parts = [f"base: {json.dumps(result.get('base'))}"]
    parts += [f"users[{i}]: {json.dumps(entry)}" for i, entry in enumerate(result.get("users", []))]
    return "\n".join(textwrap.fill(part, width, subsequent_indent="    ") for part in parts)


def invoke_flow(demo: Demo, users: list[str], readings: int) -> Activation:
    """The flow, blocking: every user's device collects ``readings`` and scores the first
    user's last held-out readings (as a user's app would send them)."""
    held_out = demo.glucose.split(demo.glucose.user_readings(users[0], readings))[1]
    params = {"users": users, "collect": readings,
              "readings": demo.glucose.as_dicts(held_out["X"][-SCORED:])}
    started = time.perf_counter()
    with answering(f"invoke {NAME}", demo.controller_log):
        done = demo.client.actions.invoke(NAME, params, wait_s=300)
    if not done.success:
        raise DemoError(f"the flow {NAME} failed: {done.result.get('error', done.response)}",
                        "\n".join(done.logs))
    demo.progress(f"the flow answered in {time.perf_counter() - started:.1f}s")
    return done


def steps_table(steps: list[FlowStep], started_ms: int) -> str:
    """One line per step, within 120 columns: when it started (seconds into the flow), how
    long it ran, where and why, what it consumed and produced."""
    rows = [(s.action, s.user, s.invoker, s.why,
             f"{(s.start_ms - started_ms) / 1000:.1f}s",
             f"{(s.end_ms - s.start_ms) / 1000:.2f}s" + (" cold" if s.cold else ""),
             " ".join(s.consumed) or "-", " ".join(s.produced) or "-") for s in steps]
    return table(("STEP", "USER", "INVOKER", "WHY (decisive)", "AT", "TOOK", "IN", "OUT"), rows)


def verdict_lines(steps: list[FlowStep]) -> list[str]:
    """The platform's gate verdicts, one line per step that had any, and each failed step's
    error."""
    lines = [f"{s.action} {s.user}: {verdicts_cell(s.gates, source=True)}"
             for s in steps if s.gates]
    return lines + [f"{s.action} {s.user}: failed: {s.error}" for s in steps if s.error]
