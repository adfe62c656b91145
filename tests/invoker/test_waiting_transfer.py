"""A transfer that waits for the corporate network: a REAL controller, a tablet behind a relay
and an office device on ``corp``.

The tablet makes a ``network:corp`` artifact while cut off (on ``corp``), then leaves ``corp``
for 4g and comes back online: the version is registered, its bytes stay on the tablet. An
activation on the office device that consumes it cannot stage it (a ``network:corp`` move from
a device not on ``corp`` is refused): with ``policy.wait`` it waits — listed by ``GET
.../activations?status=pending`` with the version, the network and where its holder is — and
runs once the tablet joins ``corp``, its bytes relayed from the tablet; another such
activation is cancelled while it waits (``DELETE .../activations/ID``); without
``policy.wait`` it fails at once, naming the same reason, and nothing is moved. The wait
survives a controller restart (the pending mark is on its accepted document)."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from controller.api.harness import Controller, wskprops_env
from edgewhisk_cli.action import python_action
from edgewhisk_client import LocalClient
from edgewhisk_devkit import Relay
from edgewhisk_runtime.local import free_port

from .harness import AgentProcess
from .test_offline import cut, wait_until
from .test_with_controller import cli, invoker_of

TABLET, OFFICE = "tablet-1", "office-1"
SNAP = f'''from edgewhisk import policy, produces


@produces.data("corp-photos", name="photos", locality="network:corp")
@policy.offline(node=["{TABLET}"])
def main(args):
    return {{"photos": {{"labelled": args["labelled"]}}}}
'''
COUNT = f'''from edgewhisk import consumes, policy


@consumes.data("corp-photos", name="photos")
@policy.fn(node="{OFFICE}", strict=True)
WAIT
def main(args, photos):
    return {{"count": len(photos.load()["labelled"])}}
'''


class Restartable:
    """The controller on a fixed port (the relay and the agents find it again after a
    restart), over one data folder."""

    def __init__(self, data: Path) -> None:
        self.data, self.port = data, free_port()
        self.current = self._new().start()

    def _new(self) -> Controller:
        return Controller(self.data, "--heartbeat-timeout", "30", port=self.port)

    def restart(self) -> None:
        self.current.stop()
        self.current = self._new().start()


@pytest.fixture
def controller(tmp_path: Path) -> Iterator[Restartable]:
    box = Restartable(tmp_path / "data")
    try:
        yield box
    finally:
        box.current.stop()


@pytest.fixture
def fleet(tmp_path: Path, controller: Restartable) -> Iterator[dict[str, Any]]:
    env = wskprops_env(controller.current, tmp_path)
    relay = Relay(controller.port).start()
    agents: list[AgentProcess] = []
    found: dict[str, Any] = {"relay": relay}
    for id, url in ((TABLET, relay.url), (OFFICE, f"ws://127.0.0.1:{controller.port}")):
        token = cli(env, "create", "--id", id).stdout.strip()
        folder = tmp_path / id
        folder.mkdir()
        networks = folder / "networks"
        networks.write_text("corp\n")
        agents.append(AgentProcess(
            tmp_path, url, token, "--id", id, "--backoff-cap", "1", "--no-battery",
            "--store", str(folder / "store"), "--offline-dir", str(folder / "offline"),
            "--local-api", str(folder / "local.sock"), "--networks-file", str(networks),
            "--context-interval", "0.2"))
        found[id] = {"agent": agents[-1], "networks": networks, "folder": folder}
    try:
        yield found
    finally:
        for agent in agents:
            agent.stop(signal.SIGKILL)
        relay.stop()


def deploy(api: Any, folder: Path, name: str, code: str) -> None:
    source = folder / f"{name}.py"
    source.write_text(code)
    api.actions.put(name, python_action(name, source))


WHY = (f"wait for corp-photos@1 (network:corp) to be sent from a holder in corp; held by "
       f"{TABLET} (on 4g)")


def made_then_off_corp(api: Any, fleet: dict[str, Any], folder: Path) -> None:
    """Deploy; the tablet makes corp-photos@1 cut off on corp, leaves corp, comes back online:
    the version is registered, its bytes only on the tablet."""
    tablet, office = fleet[TABLET], fleet[OFFICE]
    deploy(api, folder, "snap", SNAP)
    deploy(api, folder, "count", COUNT.replace("WAIT", '@policy.wait("5m")'))
    deploy(api, folder, "count-now", COUNT.replace("WAIT\n", ""))
    for device in (tablet, office):
        device["agent"].start().wait_registered()
    tablet["agent"].wait_log("keeping guest/snap@0.0.1 for offline use")
    cut(fleet["relay"], tablet["agent"])
    key = (tablet["folder"] / "offline" / "local.key").read_text().strip()
    app = LocalClient(key, socket_path=str(tablet["folder"] / "local.sock"))
    made = app.invoke("snap", {"labelled": ["ok", "worn", "ok"]})
    assert made.status == 200, made.body                      # on corp, cut off: made here
    tablet["networks"].write_text("4g\n")                     # out in the field
    tablet["agent"].wait_log("on networks: 4g")
    fleet["relay"].refusing = False
    tablet["agent"].wait_registered(2)
    tablet["agent"].wait_log("is registered as guest/corp-photos@1")
    doc = api.json("GET", "artifacts/corp-photos@1")
    assert (doc["locality"], doc["copies"]) == ("network:corp", [TABLET])


def ran_after_joining(api: Any, controller: Controller, fleet: dict[str, Any],
                      activation_id: str) -> None:
    """The tablet joins corp: the waiting activation runs on the office device, its input
    relayed from the tablet."""
    fleet[TABLET]["networks"].write_text("4g\ncorp\n")       # back at the office
    assert wait_until(lambda: api.request("GET", f"activations/{activation_id}")
                      .status_code == 200, timeout_s=30)
    record = api.activations.get(activation_id)
    assert record["response"]["result"] == {"count": 3}, record
    assert invoker_of(record) == OFFICE
    assert f"relaying guest/corp-photos@1 from invoker {TABLET} to invoker {OFFICE}" in \
        controller.log()


def test_a_network_bound_move_waits_for_its_holder_to_join_the_network(
        controller: Restartable, fleet: dict[str, Any], tmp_path: Path) -> None:
    with controller.current.client() as api:
        made_then_off_corp(api, fleet, tmp_path)
        refused = api.request("POST", "actions/count-now", params={"blocking": "true"},
                              json={}).json()
        assert WHY in refused["response"]["result"]["error"], refused   # no wait: at once
        waits = api.request("POST", "actions/count", json={}).json()["activationId"]
        cancelled = api.request("POST", "actions/count", json={}).json()["activationId"]
        assert wait_until(lambda: len(pending(api)) == 2)
        assert all(WHY in item["reason"] for item in pending(api))
        gone = api.request("DELETE", f"activations/{cancelled}")
        assert gone.status_code == 200, gone.text
        assert "cancelled" in gone.json()["response"]["result"]["error"]
        time.sleep(1.0)
        assert [item["activationId"] for item in pending(api)] == [waits]
        ran_after_joining(api, controller.current, fleet, waits)


def test_the_wait_for_a_holder_survives_a_controller_restart(
        controller: Restartable, fleet: dict[str, Any], tmp_path: Path) -> None:
    with controller.current.client() as api:
        made_then_off_corp(api, fleet, tmp_path)
        waits = api.request("POST", "actions/count", json={}).json()["activationId"]
        assert wait_until(lambda: [i["activationId"] for i in pending(api)] == [waits])
    controller.restart()
    for device in (fleet[TABLET], fleet[OFFICE]):
        device["agent"].wait_registered(2 if device is fleet[OFFICE] else 3)
    with controller.current.client() as api:
        assert wait_until(lambda: [(i["activationId"], WHY in i["reason"])
                                   for i in pending(api)] == [(waits, True)])
        ran_after_joining(api, controller.current, fleet, waits)


def pending(api: Any) -> list[dict[str, Any]]:
    return list(api.json("GET", "activations", params={"status": "pending"}))
