"""The controller process: restart keeps everything acknowledged, SIGTERM cleans up, the
admin command creates namespaces, and it refuses to start where it cannot."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from edgewhisk_devkit import StartError

from .harness import Controller, create_action, create_namespace, edgewhisk, running

CODE = "def main(args):\n    return {'n': args.get('n', 0) + 1}\n"


def test_a_restart_keeps_actions_rules_activations_and_keys(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = Controller(data).start()
    try:
        key = create_namespace(["--data", str(data)], "tenant")
        with first.client(key) as tenant:
            create_action(tenant, "kept", CODE)
            tenant.request("PUT", "triggers/kept-trigger", json={})
            tenant.request("PUT", "rules/kept-rule",
                           json={"trigger": "kept-trigger", "action": "kept"})
            record = tenant.request("POST", "actions/kept?blocking=true", json={"n": 1}).json()
            before = {p: tenant.request("GET", p).json() for p in (
                "actions/kept", "triggers/kept-trigger", "rules/kept-rule", "activations")}
    finally:
        assert first.stop() == 0
    second = Controller(data).start()
    try:
        with second.client(key) as tenant:
            after = {p: tenant.request("GET", p).json() for p in before}
            assert after == before
            assert tenant.request("GET", f"activations/{record['activationId']}").json() == record
            again = tenant.request("POST", "actions/kept?blocking=true&result=true", json={"n": 41})
            assert again.json() == {"n": 42}
        with second.client() as guest:  # the guest key is not re-created twice
            assert guest.namespaces() == ["guest"]
    finally:
        assert second.stop() == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_destroys_the_containers_and_exits_zero(tmp_path: Path,
                                                              sig: signal.Signals) -> None:
    controller = Controller(tmp_path / "data").start()
    try:
        with controller.client() as guest:
            create_action(guest, "warm", CODE)
            assert guest.request("POST", "actions/warm?blocking=true", json={}).status_code == 200
        children = controller.children()
        assert children, "the process backend runs each container as a child process"
    finally:
        assert controller.stop(sig) == 0
    deadline = time.monotonic() + 10
    while any(running(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(running(pid) for pid in children)


def test_namespace_create_prints_a_fresh_key_once_and_refuses_duplicates(tmp_path: Path) -> None:
    data = ["--data", str(tmp_path / "data")]
    key = create_namespace(data, "team")
    uuid, _, secret = key.partition(":")
    assert len(uuid) == 36 and len(secret) == 64
    assert create_namespace(data, "team2") != key
    again = subprocess.run(edgewhisk("controller", "namespace", "create", "team", *data),
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 1 and "exists" in again.stderr
    bad = subprocess.run(edgewhisk("controller", "namespace", "create", "no/slash", *data),
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "namespace" in bad.stderr
    store = (tmp_path / "data" / "store.sqlite3").read_bytes()
    assert secret.encode() not in store  # only the key's hash is kept


def test_a_taken_port_is_a_clean_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(StartError) as refused:
            Controller(tmp_path / "data", port=port).start()
    assert refused.value.status == 1 and "cannot listen" in refused.value.log
    assert "Traceback" not in refused.value.log and refused.value.output == []


def test_an_unreachable_couchdb_is_a_clean_error(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(StartError) as refused:
        Controller(tmp_path, "--db", f"http://127.0.0.1:{port}", start_timeout_s=120).start()
    assert refused.value.status == 1 and "could not start" in refused.value.log
    assert "Traceback" not in refused.value.log


def test_two_invokers_share_the_work(tmp_path: Path) -> None:
    # Each invoker holds one 256 MB container: the second action's warm container must go to
    # the invoker that still has free memory.
    controller = Controller(tmp_path / "data", "--invokers", "2",
                            "--invoker-memory", "256").start()
    try:
        with controller.client() as guest:
            invokers = set()
            for name in ("one", "two"):
                create_action(guest, name, CODE)
                record = guest.request("POST", f"actions/{name}?blocking=true", json={}).json()
                invokers |= {a["value"] for a in record["annotations"] if a["key"] == "invoker"}
            assert invokers == {"local0", "local1"}
    finally:
        assert controller.stop() == 0


def test_an_edge_only_controller_explains_that_no_invoker_is_registered(tmp_path: Path) -> None:
    controller = Controller(tmp_path / "data", "--invokers", "0").start()
    try:
        with controller.client() as guest:
            create_action(guest, "lonely", CODE)
            response = guest.request("POST", "actions/lonely?blocking=true", json={})
            assert response.status_code == 500
            record = response.json()
            assert record["response"]["status"] == "whisk internal error"
            assert "0/0 invokers are available" in record["response"]["result"]["error"]
    finally:
        assert controller.stop() == 0


def test_invalid_options_are_refused_before_starting(tmp_path: Path) -> None:
    for option in (["--invokers", "-1"], ["--invoker-memory", "64"], ["--backend", "vm"]):
        with pytest.raises(StartError) as refused:
            Controller(tmp_path, *option).start()
        assert refused.value.status == 2 and refused.value.output == [], (option,
                                                                           refused.value.log)


def test_a_stop_during_a_long_activation_records_it_and_exits_zero(tmp_path: Path) -> None:
    data = tmp_path / "data"
    controller = Controller(data).start()
    try:
        with controller.client() as guest:
            create_action(guest, "sleeper", "import time\n\ndef main(args):\n"
                                           "    time.sleep(600)\n    return {}\n")
            activation_id = guest.request("POST", "actions/sleeper", json={}).json()["activationId"]
            time.sleep(1)  # let it start running
    finally:
        assert controller.stop() == 0  # well before the harness's SIGKILL deadline
    restarted = Controller(data).start()
    try:
        with restarted.client() as guest:
            record = guest.request("GET", f"activations/{activation_id}").json()
            assert record["response"]["status"] == "whisk internal error"
            assert "shut down" in record["response"]["result"]["error"]
    finally:
        assert restarted.stop() == 0
