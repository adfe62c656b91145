"""The agent's heartbeats and metrics on one connection.

Why together: both are the device's periodic reports, sent from one timer (every
``registered.heartbeat_s``), and the round trip a heartbeat's answer measures goes out with
the metrics. Protocol 2 makes heartbeats ``quiet`` (no answer wanted) unless a result awaits
the answer that confirms it or this agent's round trip is due (every ``RTT_BEATS``): at 1 Hz
the answers were half of a connected device's frames. Metrics go out only when they changed,
or when the pool's last warm container of an action left (``cold``), so placement hears it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from edgewhisk_runtime.containers import ContainerPool
from edgewhisk_tunnel import RTT_BEATS, Heartbeat, Metrics

from .artifacts import DeviceArtifacts
from .frames import metrics_values
from .link import Link
from .outbox import Outbox

log = logging.getLogger("edgewhisk_invoker")


def now_ms() -> int:
    return int(time.monotonic() * 1000)


class Beats:
    """Heartbeats (``seq`` numbers them; the outbox's results are confirmed by them) and
    metrics; :meth:`start` after each register, :meth:`stop` when the connection ends."""

    def __init__(self, pool: ContainerPool, artifacts: DeviceArtifacts, outbox: Outbox,
                 link: Link,
                 spawn: Callable[[Coroutine[Any, Any, Any]], None]) -> None:
        self.pool, self.artifacts, self.outbox = pool, artifacts, outbox
        self.link, self._spawn = link, spawn
        self.seq = 0
        self.rtt_ms: int | None = None
        self._interval_s = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._last_metrics: tuple[float, ...] | None = None
        self._cold: set[str] = set()  # keys the pool has no warm container of any more
        pool.on_evict.append(self._on_evict)

    def start(self, interval_s: float) -> None:
        """A connection registered: heartbeats every ``interval_s``; metrics sent afresh."""
        self._interval_s = interval_s
        self._last_metrics = None
        self._schedule()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def answered(self, message: Heartbeat) -> None:
        """A heartbeat from the controller that carries ``echo_ms``: the round trip, and the
        results it confirms."""
        assert message.echo_ms is not None
        self.rtt_ms = now_ms() - message.echo_ms
        for pending in self.outbox.confirmed(message.seq):
            log.log(logging.INFO if pending.eventful else logging.DEBUG,
                    "result of %s delivered", pending.activation_id)

    def _schedule(self) -> None:
        self._timer = asyncio.get_running_loop().call_later(self._interval_s, self._on_timer)

    def _on_timer(self) -> None:
        self._schedule()
        self._spawn(self._heartbeat())

    async def _heartbeat(self) -> None:
        seq, self.seq = self.seq, self.seq + 1
        quiet = self.link.protocol >= 2 and not self.outbox.awaiting() and seq % RTT_BEATS != 0
        await self.link.send(Heartbeat(seq=seq, sent_ms=now_ms(), quiet=quiet))
        await self.metrics()

    async def metrics(self) -> None:
        """Load and the numbers of ``metrics_values``, when they changed (or cold keys)."""
        values = metrics_values(self.pool.containers, self.rtt_ms, self.artifacts.store,
                                self.artifacts.counts)
        load = (self.pool.free_memory_mb, self.pool.in_flight,
                *(v for k, v in sorted(values.items()) if k != "rtt_ms"))
        if load != self._last_metrics or self._cold:
            cold = tuple(sorted(self._cold))
            if await self.link.send(Metrics(free_memory_mb=self.pool.free_memory_mb,
                                        in_flight=self.pool.in_flight, values=values,
                                        cold=cold)):
                self._last_metrics = load
                self._cold.difference_update(cold)

    def _on_evict(self, key: str) -> None:
        """The pool's last warm container of ``key`` left: placement hears it with the next
        metrics (the pool keys ``ns/name@version#digest``, placement ``ns/name@version``)."""
        self._cold.add(key.partition("#")[0])
