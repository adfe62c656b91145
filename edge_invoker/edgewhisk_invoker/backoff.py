"""Reconnect delays: exponential backoff with full jitter, capped.

Why full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): when a controller
restarts, every device behind it loses its tunnel at the same instant; delays drawn uniformly
from ``[0, min(cap, base * 2**attempt)]`` spread their reconnects over the whole window instead
of arriving in synchronised waves, and the cap keeps a device that was offline for an hour from
waiting an hour more. A successful registration resets the attempt count.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """``next_delay()`` after each failed or lost connection; ``reset()`` once registered."""

    base_s: float = 0.5
    cap_s: float = 30.0
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0

    def __post_init__(self) -> None:
        if self.base_s <= 0 or self.cap_s < self.base_s:
            raise ValueError(f"need 0 < base ({self.base_s}) <= cap ({self.cap_s})")

    def ceiling(self, attempt: int) -> float:
        """The upper bound of the delay drawn for ``attempt`` (0-based)."""
        # 2**attempt overflows a float past ~1024; the cap is reached long before.
        return min(self.cap_s, self.base_s * 2 ** min(attempt, 64))

    def next_delay(self) -> float:
        """A delay in ``[0, ceiling(attempt)]``; advances the attempt count."""
        delay = self.rng.uniform(0.0, self.ceiling(self.attempt))
        self.attempt += 1
        return delay

    def reset(self) -> None:
        self.attempt = 0
