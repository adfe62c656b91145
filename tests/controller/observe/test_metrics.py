"""``/metrics``, ``/health`` and ``/ready`` on a real controller, scraped after real work."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ..api.harness import Client, Controller, create_action
from ..conftest import free_port

OK = "def main(args):\n    return {'ok': True}\n"
FAILS = "def main(args):\n    raise RuntimeError('boom')\n"
NEEDS_GPU = {"key": "edgewhisk", "value": {
    "version": 1, "policies": [{"type": "fn", "capability": "gpu", "strict": True}]}}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, by name and sorted labels."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(found: dict[tuple[str, tuple[tuple[str, str], ...]], float], series: str,
          **labels: str) -> float:
    """The sum of ``series``' samples whose labels include ``labels`` (0 when none)."""
    return sum(v for (n, have), v in found.items()
               if n == series and set(labels.items()) <= set(have))


@pytest.fixture(scope="module")
def scraped(controller: Controller) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The exposition after two successes, one developer error and one unschedulable."""
    with controller.client() as client:
        create_action(client, "ok", OK)
        create_action(client, "fails", FAILS)
        create_action(client, "gpu", OK, annotations=[NEEDS_GPU])
        for name in ("ok", "ok", "fails", "gpu"):
            client.request("POST", f"actions/{name}?blocking=true")
        return samples(client.metrics())


@pytest.mark.parametrize(("name", "labels", "expected"), [
    pytest.param("edgewhisk_activations_total",
                 {"action": "guest/ok", "status": "success", "invoker": "local0"}, 2,
                 id="successes are counted by action, status and invoker"),
    pytest.param("edgewhisk_activations_total",
                 {"action": "guest/fails", "status": "application_error"}, 1,
                 id="an action's crash is counted under its record's status"),
    pytest.param("edgewhisk_activations_total",
                 {"action": "guest/gpu", "status": "whisk_error", "invoker": ""}, 1,
                 id="an unschedulable activation is a whisk error placed nowhere"),
    pytest.param("edgewhisk_placement_decisions_total", {"result": "placed"}, 3,
                 id="each placed activation is one decision"),
    pytest.param("edgewhisk_placement_decisions_total", {"result": "unschedulable"}, 1,
                 id="an activation no invoker can take is an unschedulable decision"),
    pytest.param("edgewhisk_unschedulable_invokers_total", {"constraint": "Capability"}, 1,
                 id="unschedulable counts name the constraint that excluded the invoker"),
    pytest.param("edgewhisk_placement_latency_seconds_count", {}, 4,
                 id="every decision's latency is observed"),
    pytest.param("edgewhisk_activation_duration_seconds_count", {"status": "success"}, 2,
                 id="run times are observed by status"),
    pytest.param("edgewhisk_invoker_up", {"invoker": "local0", "where": "local"}, 1,
                 id="local invokers are part of the fleet"),
    pytest.param("edgewhisk_pending_activations", {}, 0,
                 id="nothing is pending once every activation is recorded"),
])
def test_a_scrape_after_real_work_shows_it(
        scraped: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str,
        labels: dict[str, str], expected: float) -> None:
    assert value(scraped, name, **labels) == expected


def test_pool_and_node_store_series_describe_the_local_invoker(
        scraped: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> None:
    assert value(scraped, "edgewhisk_pool_containers", invoker="local0") >= 1
    assert value(scraped, "edgewhisk_invoker_free_memory_bytes", invoker="local0") > 0
    assert value(scraped, "edgewhisk_node_store_capacity_bytes", invoker="local0") > 0


def test_health_and_ready_answer_without_a_key(controller: Controller) -> None:
    with Client(controller.api_host, None) as anonymous:
        assert anonymous.request("GET", "/health").json() == {"status": "ok"}
        assert anonymous.ready() == {"status": "ready", "checks": {"store": "ok",
                                                                    "blobs": "ok"}}
        assert anonymous.metrics().startswith("# HELP")


def test_ready_is_503_naming_an_unreachable_blob_store(tmp_path: Path) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    with Controller(tmp_path / "data", "--blobs", f"s3://b?endpoint_url={nobody}").start() \
            as controller, controller.client() as client:
        response = client.request("GET", "/ready")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "unavailable" and body["checks"]["store"] == "ok"
        assert body["checks"]["blobs"].startswith("unreachable")


def test_no_metrics_turns_the_endpoint_off(tmp_path: Path) -> None:
    with Controller(tmp_path / "data", "--no-metrics").start() as controller, \
            controller.client() as client:
        response = client.request("GET", "/metrics")
        assert response.status_code == 404
        assert response.json()["error"] == "Metrics are off (--no-metrics)."
        assert client.request("GET", "/health").status_code == 200
