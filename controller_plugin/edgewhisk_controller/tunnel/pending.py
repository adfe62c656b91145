"""What a RemoteInvoker keeps about its activations: the ones pending, the ones that ended.

Why a module of its own: the rules of an activation's bookkeeping between the ``run`` frame and
its result hold whatever connection carries them -- logs capped at the action's limit (with
OpenWhisk's truncation line), each id accepted once (``Ended`` remembers the last ids that
ended, so a duplicate or late result is told from a frame about an activation this invoker was
never given: ``Foreign``, for which the session closes the connection).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from edgewhisk_runtime.containers import RunOutcome
from edgewhisk_tunnel import Produce, Run

from .interfaces import Connection
from .recent import Recent

DONE_KEPT = 256
"""Activation ids remembered per invoker after their result came (a duplicate is told from a
foreign frame). Why so few: a device forgets a result once the controller confirms it (its
next heartbeat answer), and one it sends again on a new connection is among the ids it holds
when it registers, which ``RemoteInvoker.attach`` marks ended whether remembered or not."""
HISTORY = 10_000
"""Activation ids remembered per invoker after they ended without their result (lost,
abandoned, unknown): the device may still deliver it, late, on this connection."""
TRUNCATED = "Logs were truncated because the total bytes size exceeds the limit of {} bytes."
LATE = ("lost", "abandoned", "unknown", "moved")
"""How an activation ended, when a result after it is late (not a duplicate)."""

Build = Callable[..., Run]
"""An activation's ``run`` (``twins.run_message`` bound to it; ``omit_code=True``: without
its code)."""


class Foreign(Exception):
    """A frame about an activation this invoker was never given."""


@dataclass
class Pending:
    """One activation given to this invoker and not ended yet."""

    build: Build | None  # its run (None: adopted at start-up, sent by a previous controller)
    memory_mb: int
    logs_limit: int  # bytes
    future: asyncio.Future[RunOutcome]
    sent_on: Connection | None = None  # the connection it went out on; None: not sent yet
    produces: tuple[Produce, ...] = ()  # versions it keeps (cloud ones may be uploaded)
    key: str = ""  # its spec's key (the code's digest in it)
    has_code: bool = False  # its action has code (not an image only)
    logs: list[str] = field(default_factory=list)
    log_bytes: int = 0
    code_resent: bool = False  # sent again with its code after a code.missing
    deadline: float | None = None  # the loop's time its patience ends (None: adopted)

    def add_logs(self, lines: tuple[str, ...]) -> None:
        """Lines the device streamed, up to ``logs_limit`` bytes; past it one truncation
        line, as OpenWhisk writes it, and nothing more."""
        for line in lines:
            size = len(line.encode()) + 1
            if self.log_bytes + size > self.logs_limit:
                if self.log_bytes <= self.logs_limit:
                    self.logs.append(TRUNCATED.format(self.logs_limit))
                    self.log_bytes = self.logs_limit + 1
                return
            self.logs.append(line)
            self.log_bytes += size


class Ended:
    """Activation id -> how it ended (``done``, ``lost``, ``abandoned``, ``unknown``): the
    last ``DONE_KEPT`` done and the last ``HISTORY`` of the others.

    Why two bounds: nearly every activation ends done, and a busy device used to keep its last
    10,000 ids (~1.7 MB each, for as long as its token lived: ~17 GB for 10,000 busy devices
    on one controller), while only the rare ones given up on can bring a result much later."""

    def __init__(self) -> None:
        self.done: Recent[str] = Recent(DONE_KEPT)
        self.late: Recent[str] = Recent(HISTORY)

    def add(self, activation_id: str, how: str) -> None:
        kept, other = (self.done, self.late) if how == "done" else (self.late, self.done)
        other.pop(activation_id, None)
        kept.add(activation_id, how)

    def get(self, activation_id: str) -> str | None:
        return self.done.get(activation_id) or self.late.get(activation_id)

    def __getitem__(self, activation_id: str) -> str:
        how = self.get(activation_id)
        if how is None:
            raise KeyError(activation_id)
        return how

    def __contains__(self, activation_id: object) -> bool:
        return activation_id in self.done or activation_id in self.late

    def __len__(self) -> int:
        return len(self.done) + len(self.late)
