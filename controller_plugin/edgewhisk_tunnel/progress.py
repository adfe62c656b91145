"""Progress lines for artifact transfers: what a person watching a 200 MB model cross sees.

``Transfers(on_progress=...)`` calls back every ~1 MiB; a log wants far fewer lines. This keeps
one line per transfer at its start, each further 10 %, and its end, with the rate so far, e.g.
``artifact ns/model@3: 120.0/200.0 MB (60%) at 41.2 MB/s``. Small artifacts (under ``quiet_below``
bytes) report nothing: a 20 KB reading set would only add noise.
"""

from __future__ import annotations

import time
from collections.abc import Callable

MB = 1024 * 1024


class ProgressLog:
    """An ``on_progress(ref, done, size)`` callback that writes throttled lines to ``emit``."""

    def __init__(self, emit: Callable[[str], None], *, prefix: str = "artifact",
                 step: float = 0.1, quiet_below: int = 4 * MB) -> None:
        self.emit, self.prefix, self.step, self.quiet_below = emit, prefix, step, quiet_below
        self._started: dict[str, float] = {}
        self._next: dict[str, float] = {}

    def __call__(self, ref: str, done: int, size: int) -> None:
        if size < self.quiet_below:
            return
        now = time.monotonic()
        started = self._started.setdefault(ref, now)
        fraction = done / size if size else 1.0
        if fraction < self._next.get(ref, 0.0) and done < size:
            return
        self._next[ref] = (int(fraction / self.step) + 1) * self.step
        rate = done / MB / max(now - started, 1e-6)
        rate_text = f" at {rate:.1f} MB/s" if done and now > started else ""
        self.emit(f"{self.prefix} {ref}: {done / MB:.1f}/{size / MB:.1f} MB "
                  f"({fraction:.0%}){rate_text}")
        if done >= size:
            self._started.pop(ref, None)
            self._next.pop(ref, None)
