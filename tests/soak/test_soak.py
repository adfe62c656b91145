"""The short soak of the default test run (``scenario.py``; the long one is
``edgewhisk bench soak --minutes N``): a mixed load with controller and agent SIGKILLs, on
loopback, and in network namespaces behind the NAT with uplink cuts and random loss too. The
invariants table is printed; every invariant must hold."""

from __future__ import annotations

from pathlib import Path

from e2e import netns
from e2e.netns import Host
from e2e.tls import make_certificates

from soak import scenario
from soak.platform import Platform, action_kinds

LOAD_S = 20.0


def test_a_soak_on_loopback_loses_nothing_acknowledged(tmp_path: Path) -> None:
    host = Host()
    platform = Platform(tmp_path, host, {"edge1": host})
    try:
        platform.start(action_kinds(["edge1"]))
        report = scenario.run(platform, LOAD_S, seed=16)
        print(report.table())
        assert report.held, (report.violations, platform.logs())
        assert report.events and len(report.acks) > 20, report.table()
    finally:
        host.close()


def test_a_soak_behind_a_nat_with_cuts_and_loss_loses_nothing_acknowledged(
        tmp_path: Path) -> None:
    topology = netns.build(edges=2)
    try:
        tls = make_certificates(tmp_path / "tls", [topology.cloud.address])
        platform = Platform(tmp_path, topology.cloud, scenario.topology_edges(topology), tls)
        platform.start(action_kinds(list(platform.edges)))
        report = scenario.run(platform, LOAD_S, topology=topology, seed=17)
        print(report.table())
        assert report.held, (report.violations, platform.logs())
        assert report.events and len(report.acks) > 20, report.table()
    finally:
        topology.close()
