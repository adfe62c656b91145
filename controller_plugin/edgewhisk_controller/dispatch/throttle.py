"""Per-namespace throttles: 429 with OpenWhisk's own messages, before anything is started.

As upstream's ``RateThrottler`` and ``ActivationThrottler`` (``core.entitlement``): every
invoke and every fire is charged to its namespace's window of one minute (refused requests
count too, as upstream), and refused once the count passes the limit: "Too many requests in
the last minute (count: N, allowed: M)."; an invoke is also refused while the namespace has
as many activations in flight as it may (the dispatcher's count: compositions' components and
rules' actions included): "Too many concurrent requests in flight (count: N, allowed: M).".
Unlike upstream, a window opens with the first request after the last one closed, rather than
at the wall clock's minute, so a burst is never split by a minute boundary. Windows live in
this controller's memory: several controllers of a cluster behind a load balancer each apply
their part of a limit, the limit divided by the number of live controllers and at least 1, as
upstream's ``Entitlement.calculateIndividualLimit`` divides by its cluster's size; the number
follows the controllers as they come and go (``Throttle.shares``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ..exceptions import TooManyRequests
from ..schema.limits import NamespaceLimits

WINDOW_S = 60.0


def too_many_requests(count: int, allowed: int) -> str:
    """Upstream's ``Messages.tooManyRequests``, word for word."""
    return f"Too many requests in the last minute (count: {count}, allowed: {allowed})."


def too_many_concurrent_requests(count: int, allowed: int) -> str:
    """Upstream's ``Messages.tooManyConcurrentRequests``, word for word."""
    return f"Too many concurrent requests in flight (count: {count}, allowed: {allowed})."


@dataclass
class _Window:
    opened: float
    count: int = 0


def part(limit: int, shares: int) -> int:
    """One controller's part of ``limit`` shared by ``shares``: at least 1, so that some
    controller may still take a request, unless the limit is 0 (none may)."""
    return 0 if limit == 0 else max(limit // max(shares, 1), 1)


class Throttle:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[tuple[str, str], _Window] = {}
        self.shares: Callable[[str], int] = lambda kind: 1
        """How many controllers share a namespace's requests of a kind (``invoke``,
        ``fire``): each applies its ``part`` of the limits (set when it joins a cluster)."""

    def invoke(self, ns: str, limits: NamespaceLimits, in_flight: int) -> None:
        """Charge an invoke to ``ns``; ``TooManyRequests`` if over its rate or concurrency."""
        shares = self.shares("invoke")
        self._charge(ns, "invoke", part(limits.invocations_per_minute, shares))
        allowed = part(limits.concurrent_invocations, shares)
        if in_flight >= allowed:
            raise TooManyRequests(too_many_concurrent_requests(in_flight, allowed))

    def fire(self, ns: str, limits: NamespaceLimits) -> None:
        """Charge a trigger fire to ``ns``; ``TooManyRequests`` if over its rate."""
        self._charge(ns, "fire", part(limits.fires_per_minute, self.shares("fire")))

    def _charge(self, ns: str, kind: str, allowed: int) -> None:
        now = self._clock()
        window = self._windows.get((ns, kind))
        if window is None or now - window.opened >= WINDOW_S:
            window = self._windows[(ns, kind)] = _Window(now)
        window.count += 1
        if window.count > allowed:
            raise TooManyRequests(too_many_requests(window.count, allowed))
