"""The issue's proof: edge invokers behind a NAT work through the tunnel they dial themselves.

One module-wide cluster in network namespaces: the controller in "cloud" (``wss://`` with the
tests' CA), an ``edgewhisk invoker`` in "edge1" (owner u1, network u1_home) and one in "edge2"
(owner u2, network u2_home), both behind the masquerading router that drops inbound connections.
Their device tokens are created through the API. Every action appends its activation id to a
side-effect file in the edge's work folder, which is how "no activation lost or run twice" is
checked: each id is in exactly one record and exactly once in exactly one file.

All the while, a probe dials a listening port inside each edge namespace from the cloud: no
inbound connection may ever succeed (the last test checks the whole run).
"""

from __future__ import annotations

import collections
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from e2e import netns
from e2e.cluster import (
    Agent,
    Api,
    Controller,
    InboundProbe,
    annotation,
    poll,
    start_agent,
    start_controller,
)
from e2e.tls import Certificates

READY_TIMEOUT_S = 60.0
CUT_S = 12.0          # longer than the agent's dead-socket detection (ws heartbeat 5 s + 2.5 s)
OFFLINE_AFTER_S = 40  # ... and shorter than the controller's offline timeout
IN_FLIGHT = 3
SLEEP_S = 2.0

ACTION = '''import os
import time

from edgewhisk import policy


{policy}
def main(args):
    activation = os.environ["__OW_ACTIVATION_ID"]
    with open(args["sink"], "a") as sink:
        sink.write(activation + "\\n")
    time.sleep(float(args.get("sleep", 0)))
    return {{"activation": activation}}
'''

POLICIES = {
    "on-edge1": '@policy.fn(node="edge1", strict=True)',
    "on-u2-device": '@policy.fn(node="u2_device", strict=True)',
    "in-u1-home": '@policy.data(network=["u1_home"], strict=True)',
    "in-u2-home": '@policy.data(network=["u2_home"], strict=True)',
}


@dataclass
class Cluster:
    topology: netns.Topology
    controller: Controller
    api: Api
    agents: dict[str, Agent]
    workdirs: dict[str, Path]
    probe: InboundProbe

    def sink(self, invoker: str) -> Path:
        return self.workdirs[invoker] / "effects.log"

    def effects(self) -> collections.Counter[tuple[str, str]]:
        """(invoker, activation id) -> how many times the action ran it."""
        counts: collections.Counter[tuple[str, str]] = collections.Counter()
        for invoker in self.workdirs:
            path = self.sink(invoker)
            lines = path.read_text().split() if path.exists() else []
            counts.update((invoker, line) for line in lines)
        return counts

    def logs(self) -> str:
        parts = [f"--- controller ---\n{self.controller.log.read_text()[-3000:]}"]
        parts += [f"--- {a.id} ---\n{a.log.read_text()[-3000:]}" for a in self.agents.values()]
        return "\n".join(parts)


def _target(name: str) -> str:
    return {"on-edge1": "edge1", "in-u1-home": "edge1"}.get(name, "edge2")


@pytest.fixture(scope="module")
def cluster(certificates: Certificates, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("nat-tunnel")
    topology = netns.build(edges=2)
    probe = InboundProbe(topology.cloud, topology.edges)
    try:
        with probe.running():
            controller = start_controller(
                topology.cloud, root / "controller",
                "--tls-cert", str(certificates.cert), "--tls-key", str(certificates.key),
                "--heartbeat-timeout", str(OFFLINE_AFTER_S))
            api = Api(topology.cloud, controller.api_host, controller.auth, str(certificates.ca))
            url = f"wss://{topology.cloud.address}:{controller.api_host.rsplit(':', 1)[1]}"
            agents, workdirs = {}, {}
            for n, edge in enumerate(topology.edges, start=1):
                invoker, user = f"edge{n}", f"u{n}"
                workdirs[invoker] = root / invoker
                agents[invoker] = start_agent(
                    edge, url, api.token(invoker), invoker, workdirs[invoker],
                    "--owner", user, "--network", f"{user}_home", "--ca-file",
                    str(certificates.ca), "--backend", "process", "--backoff-cap", "1",
                    "--no-battery")
            for name, policy in POLICIES.items():
                source = root / f"{name.replace('-', '_')}.py"
                source.write_text(ACTION.format(policy=policy))
                api.deploy(name, source)
            built = Cluster(topology, controller, api, agents, workdirs, probe)
            _wait_until_ready(built)
            yield built
            api.close()
    finally:
        topology.close()


def _wait_until_ready(cluster: Cluster) -> None:
    """Both agents registered: an activation placed on each succeeds (bounded)."""
    last: dict[str, dict[str, Any]] = {}
    for name in ("on-edge1", "in-u2-home"):
        def ran(name: str = name) -> bool:
            sink = str(cluster.sink(_target(name)))
            status, last[name] = cluster.api.invoke(name, {"sink": sink})
            return status == 200 and annotation(last[name], "invoker") == _target(name)
        assert poll(ran, READY_TIMEOUT_S, 0.5), (last, cluster.logs())


@pytest.mark.parametrize("action", list(POLICIES), ids=[
    "policy.fn(node=edge1) runs on edge1", "policy.fn(node=u2_device) runs on edge2",
    "policy.data(network=[u1_home]) runs on edge1", "policy.data(network=[u2_home]) runs on edge2"])
def test_activations_run_on_the_invoker_their_policy_names(cluster: Cluster, action: str) -> None:
    target = _target(action)
    status, record = cluster.api.invoke(action, {"sink": str(cluster.sink(target))})
    assert status == 200, (record, cluster.logs())
    activation = record["activationId"]
    assert record["response"]["result"] == {"activation": activation}
    assert annotation(record, "invoker") == target
    assert cluster.effects()[(target, activation)] == 1


def test_a_cut_link_loses_no_activation_and_runs_none_twice(cluster: Cluster) -> None:
    topology, api = cluster.topology, cluster.api
    edge1 = topology.edges[0]
    started = []
    for _ in range(IN_FLIGHT):
        status, body = api.invoke("on-edge1", {"sink": str(cluster.sink("edge1")),
                                               "sleep": SLEEP_S}, blocking=False)
        assert status == 202, body
        started.append(body["activationId"])
    # all of them run on edge1 before the link goes
    assert poll(lambda: all(cluster.effects()[("edge1", a)] for a in started), 30), cluster.logs()

    topology.cut(edge1)
    cut_at = time.monotonic()
    during = []
    try:
        # the other edge is not affected meanwhile
        while time.monotonic() - cut_at < CUT_S:
            status, record = api.invoke("in-u2-home", {"sink": str(cluster.sink("edge2"))})
            assert status == 200 and annotation(record, "invoker") == "edge2", record
            during.append(record["activationId"])
            time.sleep(1.0)
    finally:
        topology.restore(edge1)

    records = {a: api.wait_record(a) for a in started}
    after_status, after = api.invoke("on-edge1", {"sink": str(cluster.sink("edge1"))})
    assert after_status == 200, (after, cluster.logs())

    effects = cluster.effects()
    for activation, record in records.items():
        assert record["response"]["success"], (record, cluster.logs())
        assert annotation(record, "invoker") == "edge1"
        assert effects[("edge1", activation)] == 1, activation
        assert effects[("edge2", activation)] == 0, activation
    for activation in [*during, after["activationId"]]:
        assert sum(n for (_, a), n in effects.items() if a == activation) == 1
    assert all(n == 1 for n in effects.values()), effects


def test_no_inbound_connection_ever_reached_an_edge(cluster: Cluster) -> None:
    probe = cluster.probe
    assert probe.attempts > 0
    assert probe.successes == []
    assert probe.accepted() == []
    # the router's inbound rule dropped them (while edge1 was cut, its cut rule did)
    assert cluster.topology.inbound_drops() > 0
