"""The devkit's one error: a process that did not come up.

Why it carries the log: the first thing anyone needs when a controller or an agent did not
start is what it wrote before it gave up; ``str()`` ends with the log's tail so that a test
failure or the demo's message shows it without another step.
"""

from __future__ import annotations

LOG_TAIL = 3000


class StartError(Exception):
    """``what`` did not start: ``message`` says how, ``status`` is its exit status (None if it
    still ran and was stopped), ``log`` what it wrote, ``output`` its stdout lines."""

    def __init__(self, message: str, log: str = "", status: int | None = None,
                 output: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.log = log
        self.status = status
        self.output = list(output or [])

    def __str__(self) -> str:
        tail = self.log.rstrip()[-LOG_TAIL:]
        return f"{self.message}\n{tail}" if tail else self.message
