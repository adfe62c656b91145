"""An edge invoker that stays cut off past the heartbeat timeout: nothing hangs, nothing is lost,
nothing non-idempotent runs twice.

The controller (``--heartbeat-timeout 4``) declares edge1 offline while two activations run on
it: the non-idempotent one is recorded as a whisk internal error naming edge1 (it may have run:
re-running it could do its side effect twice), the idempotent one is re-dispatched to edge2 (the
other member of the "shared" network its policy requires). When the link comes back the agent
reconnects and delivers both results late: the controller ignores them and the records stay as
they were. The side-effect file shows where each really ran.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from e2e.cluster import EdgeCluster, annotation, edge_cluster, poll, wait_until_placed
from e2e.tls import Certificates

HEARTBEAT_TIMEOUT_S = 4
CUT_S = 10.0
SLEEP_S = 3.0

ACTIONS = {
    "once": '@policy.fn(node="edge1", strict=True)',
    "on-edge2": '@policy.fn(node="edge2", strict=True)',
    "retry": '@policy.data(network=["shared"], strict=True)\n@policy.fn(node="edge1")',
}


@pytest.fixture
def cluster(certificates: Certificates, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[EdgeCluster]:
    root = tmp_path_factory.mktemp("nat-offline")
    with edge_cluster(root, certificates, ACTIONS, heartbeat_timeout_s=HEARTBEAT_TIMEOUT_S,
                      idempotent=["retry"]) as built:
        wait_until_placed(built, {"edge1": "once", "edge2": "on-edge2"})
        yield built


def test_activations_of_an_invoker_gone_offline_fail_or_move_and_late_results_are_ignored(
        cluster: EdgeCluster) -> None:
    topology, api = cluster.topology, cluster.api
    status, retry = api.invoke("retry", cluster.params(sleep=SLEEP_S), blocking=False)
    assert status == 202, retry
    status, once = api.invoke("once", cluster.params(sleep=SLEEP_S), blocking=False)
    assert status == 202, once
    retry_id, once_id = retry["activationId"], once["activationId"]
    assert poll(lambda: cluster.runs(retry_id) and cluster.runs(once_id), 30), cluster.logs()
    assert cluster.effects()[("edge1", retry_id)] == 1, "the soft policy put it on edge1 first"

    topology.cut(topology.edges[0])
    try:
        records = poll(lambda: _both(cluster, once_id, retry_id), CUT_S)
    finally:
        time.sleep(max(0.0, CUT_S - HEARTBEAT_TIMEOUT_S))
        topology.restore(topology.edges[0])
    assert records is not None, cluster.logs()
    lost, moved = records

    # the non-idempotent one: a whisk internal error naming the lost invoker, ran once
    assert lost["response"]["status"] == "whisk internal error", lost
    assert not lost["response"]["success"]
    assert "edge1" in str(lost["response"]["result"]["error"])
    # the idempotent one: re-dispatched to edge2 and succeeded there
    assert moved["response"]["success"], moved
    assert annotation(moved, "invoker") == "edge2"
    assert cluster.effects()[("edge2", retry_id)] == 1

    # edge1 comes back, delivers its late results: ignored, the records do not change
    wait_until_placed(cluster, {"edge1": "once"})
    assert poll(lambda: "late" in cluster.controller.log(), 30), cluster.logs()
    assert api.wait_record(once_id) == lost
    assert api.wait_record(retry_id) == moved
    effects = cluster.effects()
    assert effects[("edge1", once_id)] == 1 and cluster.runs(once_id) == 1
    assert (effects[("edge1", retry_id)], effects[("edge2", retry_id)]) == (1, 1)
    assert cluster.probe.successes == [] and cluster.probe.accepted() == []


def _both(cluster: EdgeCluster, *activations: str) -> tuple[dict, ...] | None:
    records = tuple(cluster.api.record(a) for a in activations)
    return None if None in records else records  # type: ignore[return-value]
