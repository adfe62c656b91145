"""``edgewhisk bench tunnel --quick --json``: the tunnel benchmark runs end to end.

A smoke test only: a real controller, a real agent and the simulated fleet; the JSON has every
measure of the issue, the activations landed where their policies put them, the PNG exists, and
nothing the bench started is still running (the load's busy processes included). No timing is
asserted (the numbers are the benchmark's output, not a test's).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from . import EDGEWHISK, quick_json

NUMBERS = ("idle_cpu_pct", "fleet_cpu_pct", "idle_rss_mb", "fleet_rss_mb", "connect_s",
           "heartbeat_rtt_p50_ms", "per_s_one_tunnel", "per_s_pool",
           "heartbeat_us_per_invoker_s", "projected_10k_cpu_pct", "cpu_ms_one_tunnel",
           "cpu_ms_pool")
ROUND_TRIPS = [f"{phase}{key}" for phase in ("", "loaded_")
               for key in ("local_rtt_ms", "tunnel_rtt_ms", "tunnel_local_ratio")]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    plot = tmp_path_factory.mktemp("tunnel") / "tunnel.png"
    return quick_json("tunnel", plot), plot


@pytest.mark.parametrize("key", NUMBERS, ids=lambda k: f"{k} is a non-negative number")
def test_every_measure_is_reported(quick_run: tuple[dict, Path], key: str) -> None:
    doc, _ = quick_run
    assert isinstance(doc[key], float | int) and doc[key] >= 0, doc


@pytest.mark.parametrize("key", ROUND_TRIPS, ids=lambda k: f"{k} has p50 and p99")
def test_round_trips_have_both_percentiles(quick_run: tuple[dict, Path], key: str) -> None:
    doc, _ = quick_run
    assert set(doc[key]) == {"p50", "p99"} and all(v > 0 for v in doc[key].values()), doc[key]


@pytest.mark.parametrize("phase", ["", "loaded_"], ids=["quiet", "loaded"])
def test_each_side_has_its_cpu_per_invoke(quick_run: tuple[dict, Path], phase: str) -> None:
    doc, _ = quick_run
    assert doc["load_processes"] == 1
    assert set(doc[f"{phase}local_cpu_ms"]) == set(doc[f"{phase}tunnel_cpu_ms"]) == {
        "controller", "agent"}
    assert all(v >= 0 for side in ("local", "tunnel")
               for v in doc[f"{phase}{side}_cpu_ms"].values())


def test_the_round_trips_ran_where_their_policies_put_them(quick_run: tuple[dict, Path]) -> None:
    doc, _ = quick_run
    assert (doc["local_invoker"], doc["tunnel_invoker"]) == ("local0", "bench-agent")


def test_the_pool_throughput_spread_over_several_tunnels(quick_run: tuple[dict, Path]) -> None:
    doc, _ = quick_run
    assert doc["pool_size"] == 100 and doc["pool_invokers_used"] > 1, doc


def test_the_protocol_ab_ran_each_side_where_it_should(quick_run: tuple[dict, Path]) -> None:
    """Version 1 carries the action's code in every warm run frame, version 2 does not
    (bytes, not time: what each side's frames hold)."""
    ab = quick_run[0]["protocol_ab"]
    padding = ab["padding_bytes"]
    assert ab["code-v1"]["run_bytes"] > padding > ab["code-v2"]["run_bytes"] > 0, ab
    for side in ("code-v1", "code-v2"):
        assert {"p50", "p99", "controller_cpu_ms", "agent_cpu_ms"} <= set(ab[side]), ab
        assert all(ab[side][key] >= 0 for key in ("controller_cpu_ms", "agent_cpu_ms"))
    assert set(ab["ratio"]) == {"p50", "controller_cpu_ms", "agent_cpu_ms", "run_bytes"}


def test_the_saturation_runs_charge_each_process_its_cpu(quick_run: tuple[dict, Path]) -> None:
    """Locally the controller's proxies run the no-op and no agent works; through the real
    agent its proxies do; the simulated devices need no proxy at all (CPU, not time)."""
    sat = quick_run[0]["saturation"]
    assert set(sat) == {"noop-local", "noop-tunnel", "echo-one", "echo-pool"}
    for row in sat.values():
        assert set(row) == {"per_s", "controller", "controller proxies", "agent",
                            "agent proxies", "bench"} and row["per_s"] > 0, row
    assert sat["noop-local"]["controller proxies"] > sat["noop-local"]["agent proxies"], sat
    assert sat["noop-tunnel"]["agent proxies"] > sat["noop-tunnel"]["controller proxies"], sat
    assert sat["noop-tunnel"]["agent"] > sat["echo-one"]["agent"], sat


def test_the_plot_is_written_and_nothing_keeps_running(quick_run: tuple[dict, Path]) -> None:
    doc, plot = quick_run
    assert plot.stat().st_size > 0 and doc["plot"] == str(plot)
    for pid in (doc["controller_pid"], doc["agent_pid"], doc["agent_v1_pid"],
                *doc["load_pids"]):
        assert not Path(f"/proc/{pid}").exists(), pid


def test_a_negative_load_is_refused_before_anything_starts() -> None:
    done = subprocess.run([str(EDGEWHISK), "bench", "tunnel", "--load", "-1"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and "--load must not be negative" in done.stderr
    assert "controller pid" not in done.stderr
