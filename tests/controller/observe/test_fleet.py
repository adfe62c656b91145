"""A real edge agent in the fleet: its own numbers in ``/metrics`` and the invokers listing."""

from __future__ import annotations

import time
from pathlib import Path

from edgewhisk_devkit import AgentSpec, Fleet

from ..api.harness import Controller
from .test_metrics import samples, value

WAIT_S = 20.0


def test_an_edge_agents_series_and_listing_beside_the_local_invoker(
        controller: Controller, tmp_path: Path) -> None:
    with controller.client() as client, \
            Fleet(client, [AgentSpec("ob-edge", ("--no-battery",))], tmp_path / "logs",
                  stores=tmp_path / "stores"):
        deadline = time.monotonic() + WAIT_S
        while True:  # the agent's first metrics frame follows its first heartbeat echo
            listed = {i["id"]: i for i in client.invokers()}
            edge = listed.get("ob-edge")
            if edge and edge["store"] is not None and edge["rtt_ms"] is not None:
                break
            assert time.monotonic() < deadline, listed
            time.sleep(0.2)
        found = samples(client.metrics())
    assert [i["where"] for i in listed.values()] == ["local", "tunnel"]
    assert edge["version"] and edge["connected"] and edge["online"]
    assert edge["store"]["capacity_bytes"] > 0 and edge["last_heartbeat_s"] < 10
    assert value(found, "edgewhisk_invoker_up", invoker="ob-edge", where="tunnel") == 1
    assert value(found, "edgewhisk_tunnel_connections_total", invoker="ob-edge") == 1
    assert value(found, "edgewhisk_tunnel_reconnects_total", invoker="ob-edge") == 0
    assert value(found, "edgewhisk_tunnel_rtt_seconds", invoker="ob-edge") > 0
    assert value(found, "edgewhisk_tunnel_sessions") == 1
    assert value(found, "edgewhisk_agent_value", invoker="ob-edge",
                 name="store_capacity_bytes") == edge["store"]["capacity_bytes"]
