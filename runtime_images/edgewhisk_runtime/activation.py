"""What flows through the middleware pipeline: one Activation in, one Result out.

Why dataclasses and not dicts: every stage reads and writes named fields, so a typo is a
type error and the pipeline's contract is visible in one screen.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from edgewhisk_runtime.artifacts.values import GateVerdict


@dataclass
class Activation:
    """One /run: the action's argument plus what the stages learn about it."""

    value: Any
    env: dict[str, str]
    deadline: float | None = None  # time.monotonic() by which the action must answer
    annotation: dict[str, Any] | None = None  # the action's edgewhisk annotation, if decorated
    consumes: list[dict[str, Any]] = field(default_factory=list)  # resolved inputs for the child
    produces: list[str] = field(default_factory=list)  # result keys the child saves as artifacts
    outbox: str | None = None  # folder where the child saves produced artifacts
    staged: dict[str, Any] | None = None  # the invoker's ``edgewhisk`` /run field (binding.py)
    metrics: dict[str, float] = field(default_factory=dict)
    models: list[str] = field(default_factory=list)  # produced names that are models (binding)
    monitor: dict[str, Any] | None = None  # what the action process observes for gates.py
    verdicts: list[GateVerdict] = field(default_factory=list)  # gates.py's, for the header

    def message(self) -> dict[str, Any]:
        """The line sent to the action process (``cpu_s``: its CPU time budget, the seconds
        left to the deadline)."""
        consumes = [{k: v for k, v in c.items() if k != "reference"} for c in self.consumes]
        cpu_s = None if self.deadline is None else \
            max(1, math.ceil(self.deadline - time.monotonic()))
        message = {"value": self.value, "env": self.env, "consumes": consumes,
                   "produces": self.produces, "outbox": self.outbox, "cpu_s": cpu_s}
        if self.models:
            message["models"] = self.models
        if self.monitor:
            message["monitor"] = self.monitor
        return message


@dataclass
class Result:
    """The HTTP answer to a /run; ``produced`` lists files the child saved in the outbox,
    ``observed`` what it observed for the gates (the launcher's side channel)."""

    status: int
    body: Any
    produced: dict[str, dict[str, Any]] = field(default_factory=dict)
    observed: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[Activation], Awaitable[Result]]


class Middleware(Protocol):
    """A pipeline stage: do something before and/or after ``call_next``."""

    async def __call__(self, activation: Activation, call_next: Handler) -> Result: ...
