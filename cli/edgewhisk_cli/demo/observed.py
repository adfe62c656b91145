"""What an operator's scraper saw of the demo: the controller's ``/metrics``, summed per series.

Read once while the fleet is still up (after the last step), so the table shows the
activations, placements, tunnel round trips, transfers and node stores the demo exercised,
as ``GET /metrics`` exposes them (``edgewhisk_controller.observe``).
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

SERIES = (
    "edgewhisk_activations_total", "edgewhisk_activation_duration_seconds_count",
    "edgewhisk_placement_decisions_total", "edgewhisk_placement_latency_seconds_count",
    "edgewhisk_unschedulable_invokers_total", "edgewhisk_gate_verdicts_total",
    "edgewhisk_trigger_firings_total", "edgewhisk_pending_activations",
    "edgewhisk_invoker_up", "edgewhisk_invoker_in_flight", "edgewhisk_tunnel_rtt_seconds",
    "edgewhisk_tunnel_connections_total", "edgewhisk_tunnel_reconnects_total",
    "edgewhisk_tunnel_sessions", "edgewhisk_agent_transfer_received_bytes_total",
    "edgewhisk_agent_transfer_sent_bytes_total", "edgewhisk_agent_value",
)
"""The series the table lists, in this order (one row each, samples summed)."""


@dataclass(frozen=True)
class SeriesRow:
    series: str
    samples: int
    total: str


def metric_rows(exposition: str) -> list[SeriesRow]:
    """One row per series of ``SERIES``: how many labelled samples, and their sum."""
    found: dict[str, list[float]] = {name: [] for name in SERIES}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name in found:
                found[sample.name].append(sample.value)
    return [SeriesRow(name, len(values), f"{sum(values):g}") for name, values in found.items()]
