"""The fleet's state as series, read at scrape time: nothing is recorded on the hot path.

Why a collector: invokers, pools, node stores and tunnel sessions already keep their state
(free memory, containers, bytes held, the smoothed round trip), so a scrape reads it once
instead of every event updating a gauge. Edge invokers' own numbers arrive with their
``metrics`` frames (``Metrics.values``: node-store bytes, containers, transfer bytes...),
and are exposed here with the same ``invoker`` label as the controller's local invokers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..invokers.local import LocalInvoker
from ..tunnel.remote import RemoteInvoker

if TYPE_CHECKING:
    from ..dispatch import Dispatcher
    from ..tunnel.hub import TunnelHub

MB = 1024 * 1024
AGENT_COUNTERS = frozenset({"transfer_sent_bytes", "transfer_received_bytes"})
"""Values an agent pushes that only go up: exposed as counters (``_total``)."""


def _gauge(name: str, doc: str, *labels: str) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"edgewhisk_{name}", doc, labels=list(labels))


class FleetCollector(Collector):
    """Every invoker (local and tunnel), the pending work and the tunnel's sessions."""

    def __init__(self, dispatcher: Dispatcher, hub: TunnelHub) -> None:
        self.dispatcher = dispatcher
        self.hub = hub

    def collect(self) -> Iterator[Metric]:
        up = _gauge("invoker_up", "1 when the invoker may take work", "invoker", "where", "role")
        in_flight = _gauge("invoker_in_flight", "Activations running on the invoker", "invoker")
        free = _gauge("invoker_free_memory_bytes", "Memory not held by containers", "invoker")
        store = _gauge("node_store_used_bytes", "Bytes of artifacts the invoker keeps",
                       "invoker")
        cap = _gauge("node_store_capacity_bytes", "The node store's budget", "invoker")
        pool = _gauge("pool_containers", "Containers in the invoker's pool", "invoker")
        for invoker in self.dispatcher.invokers:
            state = invoker.state()
            where = "tunnel" if isinstance(invoker, RemoteInvoker) else "local"
            up.add_metric([state.id, where, state.role], 1.0 if state.healthy else 0.0)
            in_flight.add_metric([state.id], state.in_flight)
            free.add_metric([state.id], state.free_memory_mb * MB)
            if isinstance(invoker, LocalInvoker):
                pool.add_metric([state.id], invoker.pool.containers)
                if invoker.store is not None:
                    store.add_metric([state.id], invoker.store.used_bytes)
                    cap.add_metric([state.id], invoker.store.capacity_bytes)
        yield from (up, in_flight, free, store, cap, pool)
        yield from self._tunnel()
        pending = _gauge("pending_activations", "Activations accepted and not yet recorded")
        pending.add_metric([], self.dispatcher.in_flight_total())
        yield pending

    def _tunnel(self) -> Iterator[Metric]:
        rtt = _gauge("tunnel_rtt_seconds", "Smoothed controller-agent round trip", "invoker")
        connections = CounterMetricFamily(
            "edgewhisk_tunnel_connections", "Tunnel registrations (reconnects included)",
            labels=["invoker"])
        reconnects = CounterMetricFamily(
            "edgewhisk_tunnel_reconnects", "Registrations after the first", labels=["invoker"])
        pushed = _gauge("agent_value", "A number the agent pushes with its metrics",
                        "invoker", "name")
        counters = {name: CounterMetricFamily(f"edgewhisk_agent_{name}",
                                              f"The agent's {name.replace('_', ' ')}",
                                              labels=["invoker"])
                    for name in sorted(AGENT_COUNTERS)}
        for id, device in sorted(self.hub.devices.items()):
            if device.rtt.ms is not None:
                rtt.add_metric([id], device.rtt.ms / 1000.0)
            connections.add_metric([id], device.connections)
            reconnects.add_metric([id], max(0, device.connections - 1))
            for name, value in sorted(device.metrics.values.items()):
                if name in counters:
                    counters[name].add_metric([id], value)
                else:
                    pushed.add_metric([id, name], value)
        sessions = _gauge("tunnel_sessions", "Open tunnel connections")
        sessions.add_metric([], len(self.hub.sessions))
        yield from (rtt, connections, reconnects, pushed, sessions, *counters.values())
