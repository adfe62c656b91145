"""A device that keeps working cut off: a REAL controller and a REAL agent behind a TCP relay
the test cuts (tests/invoker/relay.py), its local invoke API on a unix socket.

What is checked: the controller sends the device the actions whose ``policy.offline`` names it
(and only those); while connected a local invoke is forwarded and placed by the controller;
cut off, the device runs its copy and answers with an OpenWhisk record made on the device (its
id, ``offline: true``); on reconnect every such record is stored once; an action the device
holds no copy of is a clear 503 naming what is missing."""

from __future__ import annotations

import base64
import contextlib
import signal
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from controller.api.harness import Controller, create_action, started, wskprops_env
from edgewhisk_client import LocalClient
from edgewhisk_devkit import Relay

from .harness import AgentProcess
from .test_with_controller import DEVICE, cli, invoker_of

CLASSIFY = "def main(args):\n    return {'label': 'ok' if args.get('x', 0) < 5 else 'worn'}\n"
OFFLINE = [{"key": "edgewhisk", "value": {
    "version": 1, "policies": [{"type": "offline", "node": [DEVICE]}]}}]
ELSEWHERE = [{"key": "edgewhisk", "value": {
    "version": 1, "policies": [{"type": "offline", "node": ["tablet-9"]}]}}]
SYNC_WAIT_S = 10.0


@pytest.fixture
def controller(tmp_path: Path) -> Iterator[Controller]:
    yield from started(tmp_path / "data", "--heartbeat-timeout", "30")


@pytest.fixture
def device(tmp_path: Path, controller: Controller) -> Iterator[dict[str, Any]]:
    """An agent behind a relay, with --offline-dir and a local API socket (not started);
    ``device["again"](*flags)`` makes another agent process of the same device."""
    env = wskprops_env(controller, tmp_path)
    token = cli(env, "create", "--id", DEVICE).stdout.strip()
    relay = Relay(controller.port).start()
    offline, socket_path = tmp_path / "offline", tmp_path / "local.sock"
    flags = ("--id", DEVICE, "--backoff-cap", "1", "--no-battery", "--offline-dir",
             str(offline), "--local-api", str(socket_path), "--api-key", controller.auth)
    agents: list[AgentProcess] = []

    def again(*extra: str) -> AgentProcess:
        agents.append(AgentProcess(tmp_path, relay.url, token, *flags, *extra))
        return agents[-1]

    try:
        yield {"relay": relay, "agent": again(), "offline": offline, "socket": socket_path,
               "again": again}
    finally:
        for agent in agents:
            agent.stop(signal.SIGKILL)
        relay.stop()


def local(device: dict[str, Any]) -> LocalClient:
    key = (device["offline"] / "local.key").read_text().strip()
    return LocalClient(key, socket_path=str(device["socket"]))


def annotation(record: dict[str, Any], key: str) -> Any:
    return next((a["value"] for a in record["annotations"] if a["key"] == key), None)


def cut(relay: Relay, agent: AgentProcess) -> None:
    relay.refusing = True
    relay.cut()
    agent.wait_log("tunnel to")  # the agent saw the link go


def test_a_device_cut_off_runs_its_copy_and_syncs_each_record_once(
        controller: Controller, device: dict[str, Any]) -> None:
    relay, agent = device["relay"], device["agent"]
    with controller.client() as api:
        create_action(api, "classify", CLASSIFY, annotations=OFFLINE)
        create_action(api, "elsewhere", CLASSIFY, annotations=ELSEWHERE)
        agent.start()
        agent.wait_registered()
        agent.wait_log("keeping guest/classify@0.0.1 for offline use")
        assert "keeping guest/elsewhere" not in agent.log()
        device_api = local(device)

        forwarded = device_api.invoke("classify", {"x": 1})
        assert forwarded.status == 200, forwarded.body
        assert annotation(forwarded.body, "offline") is None   # the controller ran it

        cut(relay, agent)
        ids = []
        for x in range(5):
            answer = device_api.invoke("classify", {"x": x + 3})
            assert answer.status == 200, answer.body
            assert answer.body["response"]["result"] == {"label": "ok" if x + 3 < 5 else "worn"}
            assert annotation(answer.body, "offline") is True
            assert invoker_of(answer.body) == DEVICE
            assert answer.headers["x-openwhisk-activation-id"] == answer.activation_id
            ids.append(answer.activation_id)
        refused = device_api.invoke("elsewhere", {"x": 1})
        assert refused.status == 503
        assert "holds no copy of guest/elsewhere" in refused.body["error"]

        relay.refusing = False
        agent.wait_registered(2)
        def synced() -> list[str]:
            listed = api.json("GET", "activations", params={"name": "classify", "limit": 200})
            return sorted(r["activationId"] for r in listed if r["activationId"] in ids)

        wait_until(lambda: synced() == sorted(ids))
        assert synced() == sorted(ids)                  # all synced, none twice
        for aid in ids:
            record = api.activations.get(aid)
            assert annotation(record, "offline") is True and invoker_of(record) == DEVICE
    assert wait_until(lambda: unsynced(device["offline"]) == 0)  # confirmed, then forgotten


def unsynced(folder: Path) -> int:
    with contextlib.closing(sqlite3.connect(folder / "offline.sqlite3")) as db:
        return int(db.execute("SELECT COUNT(*) FROM records").fetchone()[0])


def wait_until(check: Callable[[], bool], timeout_s: float = SYNC_WAIT_S) -> bool:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


BAD_INPUTS = [
    # (what the case is, headers, the path's namespace, the body)
    ("no key: 401", {"Authorization": ""}, "_", b"{}"),
    ("a wrong key: 401", {"Authorization": "Basic bm90OmtleQ=="}, "_", b"{}"),
    ("another namespace's action: 403", {}, "another", b"{}"),
    ("malformed JSON: 400", {}, "_", b'{"x": '),
    ("a non-standard JSON number: 400", {}, "_", b'{"x": NaN}'),
    ("parameters that are not an object: 400", {}, "_", b"[1, 2]"),
    ("over 1 MiB: 413", {}, "_", b'{"x": "' + b"a" * (1024 * 1024) + b'"}'),
]


def test_bad_input_gets_the_controllers_answer_and_changes_nothing(
        controller: Controller, device: dict[str, Any]) -> None:
    """One device for every case (each case is checked alone: a failure names it)."""
    relay, agent = device["relay"], device["agent"]
    key = "Basic " + base64.b64encode(controller.auth.encode()).decode()
    with controller.client() as api:
        create_action(api, "classify", CLASSIFY, annotations=OFFLINE)
        agent.start()
        agent.wait_registered()
        agent.wait_log("keeping guest/classify@0.0.1 for offline use")
        cut(relay, agent)
        before = api.json("GET", "activations", params={"limit": 200})
        for case, headers, namespace, body in BAD_INPUTS:
            path = f"/api/v1/namespaces/{namespace}/actions/classify?blocking=true"
            sent = {"Content-Type": "application/json", "Authorization": key, **headers}
            if not sent["Authorization"]:
                del sent["Authorization"]
            upstream = requests.post(controller.api_host + path, data=body, headers=sent,
                                     timeout=60)
            client = local(device)
            if "Authorization" in headers:  # about the key: send exactly these headers
                client = LocalClient(None, socket_path=client.socket_path)
            else:
                del sent["Authorization"]  # the local client sends the local key
            answer = client.request("POST", path, body, sent)
            assert answer.body is not None and "error" in answer.body, case
            assert (answer.status, answer.body["error"]) == (
                upstream.status_code, upstream.json()["error"]), case
            assert answer.status in (400, 401, 403, 413), case
        assert api.json("GET", "activations", params={"limit": 200}) == before
    assert unsynced(device["offline"]) == 0


UPLOAD = "def main(args):\n    return {'photos': len(args.get('photos', []))}\n"
ON_CORP = [{"key": "edgewhisk", "value": {
    "version": 1, "policies": [{"type": "offline", "node": [DEVICE]},
                               {"type": "data", "network": ["corp"], "strict": True}]}}]


def test_work_that_needs_corp_waits_on_the_device_across_a_restart(
        controller: Controller, device: dict[str, Any], tmp_path: Path) -> None:
    networks = tmp_path / "networks"
    networks.write_text("4g\n")
    sensing = ("--networks-file", str(networks), "--context-interval", "0.2")
    relay, agent = device["relay"], device["again"](*sensing)
    with controller.client() as api:
        create_action(api, "upload", UPLOAD, annotations=ON_CORP)
        agent.start()
        agent.wait_registered()
        agent.wait_log("keeping guest/upload@0.0.1 for offline use")
        connected = local(device).invoke("upload", {"photos": [1, 2]})
        assert connected.status == 202, connected.body     # waits even while connected
        cut(relay, agent)
        cut_off = local(device).invoke("upload", {"photos": [3]})
        assert cut_off.status == 202, cut_off.body
        ids = sorted([connected.activation_id, cut_off.activation_id])

        agent.stop(signal.SIGKILL)                          # restarted while cut off
        again = device["again"](*sensing).start()
        again.wait_log("local API")
        time.sleep(1.0)
        assert "ran on joining" not in again.log()          # still not on corp: nothing ran
        joined_ms = int(time.time() * 1000)
        networks.write_text("4g\ncorp\n")
        for aid in ids:
            again.wait_log(f"activation {aid} of guest/upload ran on joining corp")

        relay.refusing = False
        again.wait_registered()
        assert wait_until(lambda: unsynced(device["offline"]) == 0)
        for aid in ids:
            record = api.activations.get(aid)
            assert record["start"] >= joined_ms                 # it ran only after joining
            assert annotation(record, "offline") is True and invoker_of(record) == DEVICE
        listed = api.json("GET", "activations", params={"name": "upload", "limit": 200})
        assert sorted(r["activationId"] for r in listed) == ids   # each once
