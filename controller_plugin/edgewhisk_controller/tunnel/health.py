"""Is a remote invoker alive, and how far away is it?

``Liveness``: OpenWhisk's rule, offline after ``offline_after_s`` (10 s) without a heartbeat.
One timer handle per invoker, armed at ``last_seen + offline_after_s`` and re-armed lazily
when it fires early (aiohttp's own heartbeat does the same), so a heartbeat costs a
timestamp, not a timer. It outlives connections: a device that drops its connection has the
rest of the window to come back with its in-flight activations.

``RoundTrip``: controller<->invoker round-trip time from heartbeat echoes, smoothed (EWMA),
for placement's proximity and for the status API. This is the one place a round trip is
smoothed: placement (``Engine.observe_rtt``) follows this average in steps, it does not
average it again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

RTT_ALPHA = 0.3
"""Weight of a new round-trip sample in the moving average."""


class Liveness:
    def __init__(self, offline_after_s: float, on_offline: Callable[[], None]) -> None:
        self.offline_after_s = offline_after_s
        self.last_seen = time.monotonic()
        self._on_offline = on_offline
        self._timer: asyncio.TimerHandle | None = None

    def seen(self) -> None:
        """A heartbeat (or registration) arrived: the window starts again."""
        self.last_seen = time.monotonic()
        if self._timer is None:
            self._arm(self.offline_after_s)

    def stop(self) -> None:
        """Cancel the timer (offline handled, revoked, or shutting down); idempotent."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    @property
    def silent_s(self) -> float:
        return time.monotonic() - self.last_seen

    def _arm(self, delay_s: float) -> None:
        self._timer = asyncio.get_running_loop().call_later(delay_s, self._check)

    def _check(self) -> None:
        self._timer = None
        remaining = self.offline_after_s - self.silent_s
        if remaining > 0:
            self._arm(remaining)
        else:
            self._on_offline()


class RoundTrip:
    def __init__(self) -> None:
        self.ms: float | None = None  # smoothed; None until the first echo
        self.last_ms: float | None = None

    def sample(self, ms: float) -> None:
        ms = max(0.0, ms)
        self.last_ms = ms
        self.ms = ms if self.ms is None else (1 - RTT_ALPHA) * self.ms + RTT_ALPHA * ms


def clock_ms() -> int:
    """What our heartbeats carry in ``sent_ms``: monotonic milliseconds (only we compare them,
    so a wall-clock step on either side cannot fake a round trip)."""
    return int(time.monotonic() * 1000)
