"""Issue 17 item 5: ansible/site.yml deploys a real fleet, and the fleet works.

Three hosts booting systemd (:mod:`fleet.hosts`): a controller host with CouchDB's API, two
edge hosts behind the NAT router. The play installs the wheel built on this control node,
makes a CA and the controller's certificate here and copies them, creates the namespace key
(never printed), gives each agent ``--store``/``--store-cap``, and hardens both units. Then:
the second run changes nothing; the controller answers over TLS signed by that CA and lists
both agents with their stores; an action with ``@policy.fn(node="alice_device")`` runs on
alice's edge host, one with ``@policy.data(network=["bob_home"])`` on bob's, whose agent
runs ``--backend docker`` on the podman and runtime image the play provisioned (the action
runs in a container there: ``podman ps`` in the host lists it); a rebuilt wheel
is installed again and restarts every service, after which the fleet still works.

Not in the default test run (``-m fleet``; about 9 minutes): ``make test-fleet`` runs it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e.cluster import Api, annotation, poll

from fleet.hosts import DOCKER_EDGE, Fleet, Host, Play, build_wheels, fleet

pytestmark = [pytest.mark.fleet, pytest.mark.timeout(1800)]

# one action per edge host, each placed there by its policy (alice owns edge1, whose network
# is alice_home; bob's edge2 is in bob_home): strict, so nowhere else would do
POLICIES = {"edge1": '@policy.fn(node="alice_device", strict=True)',
            "edge2": '@policy.data(network=["bob_home"], strict=True)'}
WHERE = """import socket

from edgewhisk import policy


{decorator}
def main(args):
    return {{"host": socket.gethostname()}}
"""
CONNECT_TIMEOUT_S = 90.0
UNITS = {"cloud": "edgewhisk-controller", "edge1": "edgewhisk-invoker",
         "edge2": "edgewhisk-invoker"}


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The fleet after two runs of site.yml (both kept for the tests to read)."""
    with fleet(tmp_path_factory.mktemp("fleet")) as built:
        first = built.play()
        assert first.returncode == 0, first.output + built.logs()
        second = built.play("-v")
        api = Api(built.topology.cloud, built.api_host, built.key(),
                  ca_file=str(built.tls / "ca.pem"))
        try:
            yield {"fleet": built, "first": first, "second": second, "api": api}
        finally:
            api.close()


def connected(api: Api) -> dict[str, dict[str, Any]]:
    """The edge agents connected now that reported their node store."""
    listed = api.namespace.call(api.client.invokers)
    return {i["id"]: i for i in listed if i.get("connected") and i.get("store")}


def both_connected(api: Api, built: Fleet) -> dict[str, dict[str, Any]]:
    def both() -> dict[str, dict[str, Any]] | None:
        now = connected(api)
        return now if set(POLICIES) <= set(now) else None

    found = poll(both, CONNECT_TIMEOUT_S, every_s=0.5)
    assert found, f"{api.namespace.call(api.client.invokers)}\n{built.logs()}"
    return found


def test_the_first_run_deploys_every_host(deployed: dict[str, Any]) -> None:
    recap = deployed["first"].recap()
    assert set(recap) == {"cloud", "edge1", "edge2"}, deployed["first"].output
    for host, counts in recap.items():
        assert counts["failed"] == 0 and counts["unreachable"] == 0, (host, counts)
        assert counts["changed"] > 0, (host, counts)


def test_the_second_run_changes_nothing(deployed: dict[str, Any]) -> None:
    second: Play = deployed["second"]
    assert second.returncode == 0, second.output
    recap = second.recap()
    assert set(recap) == {"cloud", "edge1", "edge2"}, second.output
    assert all(counts["changed"] == 0 and counts["failed"] == 0 for counts in recap.values()), \
        second.output


def test_the_namespace_key_stays_out_of_the_output(deployed: dict[str, Any]) -> None:
    key = deployed["fleet"].key()
    secret = key.split(":", 1)[1]
    assert len(secret) >= 32
    for play in (deployed["first"], deployed["second"]):
        assert secret not in play.output
    # the second run prints every task's result (-v): no_log hid those that hold the key
    assert "the output has been hidden" in deployed["second"].output


def test_the_controller_uses_couchdb_and_the_generated_certificate(
        deployed: dict[str, Any]) -> None:
    built: Fleet = deployed["fleet"]
    unit = built.controller.exec("cat", "/etc/systemd/system/edgewhisk-controller.service")
    assert "--db http://127.0.0.1:5984" in unit and "--insecure" not in unit
    assert "--tls-cert /opt/edgewhisk/etc/tls/controller.pem" in unit
    databases = built.controller.exec("python3", "-c", "import urllib.request; print(urllib."
                                      "request.urlopen('http://127.0.0.1:5984/_all_dbs').read())")
    assert "edgewhisk" in databases or "whisk" in databases, databases
    # the CA stays on the control node; the hosts get its certificate only
    assert (built.tls / "ca.key").exists()
    for host in built.hosts:
        assert host.exec("ls", "/opt/edgewhisk/etc/tls").split() == (
            ["ca.pem", "controller.key", "controller.pem"] if host is built.controller
            else ["ca.pem"])


def test_both_agents_connect_through_the_nat_with_their_store(deployed: dict[str, Any]) -> None:
    listed = both_connected(deployed["api"], deployed["fleet"])
    for name in POLICIES:
        assert listed[name]["store"]["capacity_bytes"] == 300 * 1000**2, listed[name]


def _sandbox(host: Host, unit: str) -> tuple[str, dict[str, str]]:
    pid = host.unit(unit, "MainPID")["MainPID"]
    status = host.exec("cat", f"/proc/{pid}/status")
    mounts = {}
    for line in host.exec("cat", f"/proc/{pid}/mountinfo").splitlines():
        fields = line.split()
        mounts[fields[4]] = fields[5]
    return status, mounts


@pytest.mark.parametrize("name", list(UNITS))
def test_each_unit_runs_sandboxed(deployed: dict[str, Any], name: str) -> None:
    host = next(h for h in deployed["fleet"].hosts if h.name == name)
    status, mounts = _sandbox(host, UNITS[name])
    assert "NoNewPrivs:\t1" in status
    assert "CapEff:\t0000000000000000" in status
    assert mounts["/"].startswith("ro"), mounts["/"]           # ProtectSystem=strict
    assert mounts["/opt/edgewhisk/state"].startswith("rw")       # ReadWritePaths
    assert mounts["/tmp"].startswith("rw")                       # PrivateTmp: its own


def _run_on(api: Api, host: str) -> dict[str, Any]:
    status, record = api.invoke(f"where-{host}", {})
    assert status == 200, record
    return record


def test_an_annotated_action_runs_on_each_edge_host_by_its_policy(
        deployed: dict[str, Any], tmp_path: Path) -> None:
    api: Api = deployed["api"]
    both_connected(api, deployed["fleet"])
    for host, decorator in POLICIES.items():
        source = tmp_path / f"where_{host}.py"
        source.write_text(WHERE.format(decorator=decorator))
        api.deploy(f"where-{host}", source)
    for host in POLICIES:
        record = _run_on(api, host)
        assert_ran_on(deployed["fleet"], host, record)


def assert_ran_on(built: Fleet, name: str, record: dict[str, Any]) -> None:
    """The record names the invoker of host ``name``, and the action's result is the host name
    it saw: the host's own (process backend) or, on the docker edge host, that of a container
    its podman runs (the container's ID, listed by ``podman ps`` inside the host, of the
    runtime image the play loaded: the action ran in it, not in the host)."""
    assert annotation(record, "invoker") == name, record
    seen = record["response"]["result"]["host"]
    if name != DOCKER_EDGE:
        assert seen == name, record
        return
    host = next(h for h in built.hosts if h.name == name)
    listed = host.exec("podman", "ps", "--format", "{{.ID}} {{.Image}}").splitlines()
    assert f"{seen} {built.runtime_image}" in listed, (seen, listed)


def test_a_rebuilt_wheel_is_installed_again_and_restarts_every_service(
        deployed: dict[str, Any]) -> None:
    built: Fleet = deployed["fleet"]
    before = {h.name: h.unit(UNITS[h.name], "MainPID")["MainPID"] for h in built.hosts}
    build_wheels(built.wheelhouse, deps=False, epoch=int(time.time()))
    third = built.play()
    assert third.returncode == 0, third.output + built.logs()
    assert all(counts["changed"] > 0 for counts in third.recap().values()), third.output
    after = {h.name: h.unit(UNITS[h.name], "MainPID")["MainPID"] for h in built.hosts}
    assert all(after[name] not in ("0", before[name]) for name in before), (before, after)
    api: Api = deployed["api"]
    both_connected(api, built)
    for host in POLICIES:
        assert_ran_on(built, host, _run_on(api, host))
