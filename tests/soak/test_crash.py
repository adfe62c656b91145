"""One test per defect of issue 16's "acknowledged work lost": each failed on the main branch
before durable acknowledgements (208 of 208 non-blocking activations gone after a SIGKILL,
the last answered blocking records missing, edge results refused after a restart), and the
same for what issue 16 counts too: trigger-fired and composed activations, and the artifacts an
edge activation produced across the crash.

Real processes on loopback (``soak.platform``): the controller is SIGKILLed with its process
group (its action processes die with it) and started again on the same data and port.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e.cluster import poll
from e2e.netns import Host

from soak.platform import Platform, action_kinds

RECORD_WAIT_S = 60.0
RESTARTED = {"error": "The controller restarted while the activation was running."}
FLOW = """def main(args):
    \"\"\"A composition of one step: once-local0, then done.\"\"\"
    if args.get("done"):
        return {"params": {"ok": True}}
    return {"action": "once-local0", "params": {"sink": args["sink"], "sleep": args["sleep"]},
            "state": {"done": True}}
"""
PRODUCER = """import os
import time

from edgewhisk import produces


@produces.data("readings", locality="local")
def main(args):
    \"\"\"Count the run (the sink), sleep, then produce a version of readings on the device.\"\"\"
    with open(args["sink"], "a") as sink:
        sink.write(os.environ["__OW_ACTIVATION_ID"] + "\\n")
    time.sleep(float(args["sleep"]))
    return {"readings": b"5 7 9"}
"""
PRODUCES = {"version": 1, "policies": [{"type": "fn", "node": "edge1", "strict": True}],
            "produces": [{"kind": "data", "name": "readings", "ref": "readings",
                          "locality": "local"}]}


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    host = Host()
    built = Platform(tmp_path, host, {})
    try:
        yield built.start(action_kinds([]))
    finally:
        host.close()


@pytest.fixture
def edge_platform(tmp_path: Path) -> Iterator[Platform]:
    host = Host()
    built = Platform(tmp_path, host, {"edge1": host})
    try:
        yield built.start(action_kinds(["edge1"]))
    finally:
        host.close()


def _record(platform: Platform, activation_id: str) -> tuple[int, dict[str, Any]]:
    with platform.client() as api:
        response = api.request("GET", f"activations/{activation_id}")
        return response.status_code, response.json()


def _wait_record(platform: Platform, activation_id: str) -> dict[str, Any]:
    def recorded() -> dict[str, Any] | None:
        status, body = _record(platform, activation_id)
        return body if status == 200 else None

    found = poll(recorded, RECORD_WAIT_S)
    assert found, f"{activation_id} has no record\n{platform.logs()}"
    return found


def test_non_blocking_activations_answered_202_survive_a_sigkill(platform: Platform) -> None:
    params = {"sink": str(platform.sink), "sleep": 3}
    ids: dict[str, str] = {}
    with platform.client() as api:
        for n in range(24):
            name = "retry-local0" if n % 2 else "once-local0"
            response = api.request("POST", f"actions/{name}", json=params)
            assert response.status_code == 202, response.text
            ids[response.json()["activationId"]] = name
    platform.kill_controller()
    platform.start_controller()
    # while recovery finishes them, none is a 404: a record, or 202 while it runs again
    assert {_record(platform, i)[0] for i in ids} <= {200, 202}
    records = {i: _wait_record(platform, i) for i in ids}
    effects = platform.effects()
    for activation_id, name in ids.items():
        response = records[activation_id]["response"]
        if name == "retry-local0":  # idempotent: re-dispatched, ran at least once
            assert response["success"], response
            assert effects[activation_id] >= 1
        else:  # ran at most once: finished before the kill, or the restart error
            assert effects[activation_id] <= 1
            assert response["success"] or response["result"] == {
                "error": "The controller restarted while the activation was running."}, response
            assert response["success"] or response["status"] == "whisk internal error"
    assert any(not r["response"]["success"] for r in records.values()), \
        "some non-idempotent activation was running at the kill"


def test_every_blocking_answer_survives_a_sigkill_right_after_it(platform: Platform) -> None:
    params = {"sink": str(platform.sink), "sleep": 0}
    answered: list[dict[str, Any]] = []
    stop = threading.Event()

    def client() -> None:
        with platform.client() as api:
            while not stop.is_set():
                try:
                    response = api.request("POST", "actions/once-local0?blocking=true",
                                           json=params)
                except Exception:
                    return  # the controller is gone
                if response.status_code == 200:
                    answered.append(response.json())

    threads = [threading.Thread(target=client) for _ in range(4)]
    for thread in threads:
        thread.start()
    poll(lambda: len(answered) >= 40, 60)
    platform.kill_controller()  # mid-load: the last answers were just sent
    stop.set()
    for thread in threads:
        thread.join(30)
    platform.start_controller()
    assert len(answered) >= 40
    for record in answered:
        status, stored = _record(platform, record["activationId"])
        assert status == 200 and stored == record


def test_trigger_fired_and_composed_activations_survive_a_sigkill(platform: Platform) -> None:
    params = {"sink": str(platform.sink), "sleep": 4}
    with platform.client() as api:
        api.call("PUT", "triggers/fired", json={})
        api.call("PUT", "rules/fires-once", json={"trigger": "/_/fired",
                                                 "action": "/_/once-local0"})
        api.actions.put("flow", {"exec": {"kind": "python:3", "code": FLOW},
                                 "annotations": [{"key": "conductor", "value": True}]})
        fired = api.request("POST", "triggers/fired", json=params)
        composed = api.request("POST", "actions/flow", json=params)
        assert (fired.status_code, composed.status_code) == (202, 202), (fired.text,
                                                                         composed.text)
        line = json.loads(api.json("GET", f"activations/{fired.json()['activationId']}")
                          ["logs"][0])
    by_rule, flow = line["activationId"], composed.json()["activationId"]
    # both are running: the rule's action, and the composition's step (a third id)
    assert poll(lambda: by_rule in platform.effects() and len(platform.effects()) == 2, 30), \
        platform.logs()
    platform.kill_controller()
    platform.start_controller()
    for activation_id in (by_rule, flow):
        response = _wait_record(platform, activation_id)["response"]
        assert response["status"] == "whisk internal error", response
        assert response["result"] == RESTARTED
    assert _wait_record(platform, by_rule)["cause"] == fired.json()["activationId"]
    assert platform.effects()[by_rule] == 1


def test_an_edge_activation_in_flight_across_a_sigkill_is_reconciled_once(
        edge_platform: Platform) -> None:
    platform = edge_platform
    ids = []
    with platform.client() as api:
        for sleep in (4, 0.5):  # still running at the restart; finished while it was down
            response = api.request("POST", "actions/once-edge1",
                                   json={"sink": str(platform.sink), "sleep": sleep})
            assert response.status_code == 202, response.text
            ids.append(response.json()["activationId"])
    assert poll(lambda: all(platform.effects()[i] for i in ids), 30), platform.logs()
    platform.kill_controller()
    time.sleep(1.5)  # the short one finishes meanwhile: its result waits in the agent's outbox
    platform.start_controller()
    for activation_id in ids:
        record = _wait_record(platform, activation_id)
        assert record["response"]["success"], (record, platform.logs())
        assert {"key": "invoker", "value": "edge1"} in record["annotations"]
    time.sleep(2)  # a duplicate delivery would come now; it must change nothing
    assert all(platform.effects()[i] == 1 for i in ids)
    assert [_wait_record(platform, i)["activationId"] for i in ids] == ids


def test_an_edge_activation_taken_back_after_a_sigkill_registers_what_it_produced(
        edge_platform: Platform) -> None:
    platform = edge_platform
    with platform.client() as api:
        api.actions.put("produce-edge1", {
            "exec": {"kind": "python:3", "code": PRODUCER},
            "annotations": [{"key": "edgewhisk", "value": PRODUCES}]})
        response = api.request("POST", "actions/produce-edge1",
                               json={"sink": str(platform.sink), "sleep": 4})
        assert response.status_code == 202, response.text
    activation_id = response.json()["activationId"]
    assert poll(lambda: platform.effects()[activation_id], 30), platform.logs()
    platform.kill_controller()  # its plan of the output dies with it
    platform.start_controller()
    record = _wait_record(platform, activation_id)
    assert record["response"]["success"], (record, platform.logs())
    with platform.client() as api:
        artifact = api.json("GET", "artifacts/readings")
    assert artifact["created_by"] == activation_id, artifact
    assert artifact["copies"] == ["edge1"] and artifact["size"] == len(b"5 7 9"), artifact
    assert record["response"]["result"]["readings"]["artifact"]["key"] == \
        f"{artifact['namespace']}/readings@{artifact['version']}"
    assert platform.effects()[activation_id] == 1
