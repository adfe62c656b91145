"""Invoking an action whose annotation has variables, through the real API.

Bound variables run one activation; a variable other than ``{usr}`` left unbound is a 400
naming it; an unbound ``{usr}`` fans out over the users on record. On the default controller
(local invokers, no owners) there is nobody on record, and the answer says so; on a small
``--fleet`` (a device per user, u3's without the action's kind, and a cloud machine) each user
with a feasible device gets a child activation on that device, reading that user's data: a
``local`` artifact registered by its metadata, its bytes in that device's node store only.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from edgewhisk_runtime.artifacts.store import NodeStore

from .harness import Client, Controller, create_action

CODE = '''
def main(args):
    return {"user": args.get("usr"), "day": args.get("day")}
'''


def annotation(ref: str) -> dict[str, Any]:
    return {"key": "edgewhisk", "value": {
        "version": 1, "produces": [{"kind": "data", "ref": ref, "name": "summary"}]}}


@pytest.fixture
def action(guest: Client) -> str:
    answer = guest.request("PUT", "actions/per-user?overwrite=true", json={
        "exec": {"kind": "python:3", "code": CODE},
        "annotations": [annotation("{usr}/summary-{day}")]})
    assert answer.status_code == 200, answer.text
    return "actions/per-user"


def test_bound_variables_run_one_activation(guest: Client, action: str) -> None:
    answer = guest.request("POST", f"{action}?blocking=true&result=true",
                           json={"usr": "u1", "day": "mon"},
                           headers={"X-Edgewhisk-Site": "lab"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"user": "u1", "day": "mon"}


def test_an_unbound_variable_that_cannot_fan_out_is_a_400_naming_it(guest: Client,
                                                                     action: str) -> None:
    answer = guest.request("POST", f"{action}?blocking=true", json={"usr": "u1"})
    assert answer.status_code == 400, answer.text
    assert "{day}" in answer.json()["error"] and "pass 'day' as a parameter" in \
        answer.json()["error"]


def test_a_value_that_is_not_one_path_segment_is_a_400(guest: Client, action: str) -> None:
    answer = guest.request("POST", f"{action}?blocking=true", json={"usr": "../u2", "day": "mon"})
    assert answer.status_code == 400, answer.text
    assert "{usr}" in answer.json()["error"]


@pytest.mark.parametrize("blocking", [False, True],
                         ids=["non-blocking answers 202", "blocking answers the parent record"])
def test_an_unbound_usr_with_nobody_on_record_fans_out_to_nothing_and_says_why(
        guest: Client, action: str, blocking: bool) -> None:
    answer = guest.request("POST", f"{action}?blocking={str(blocking).lower()}",
                           json={"day": "mon"})
    body = answer.json()
    assert answer.status_code == (500 if blocking else 202), answer.text
    assert body["fanout"] == {"users": 0, "activations": [],
                              "excluded": {"count": 0, "users": {}}}
    assert answer.headers["X-OW-Activation-Id"] == body["activationId"]
    parent = guest.activations.wait(body["activationId"])
    assert "no user on record" in parent["response"]["result"]["error"]
    assert parent["response"]["result"]["fanout"]["users"] == 0


READER = '''
from edgewhisk import consumes, policy

@consumes.data("{usr}/glucose", name="readings", locality="local")
@policy.fn(node="{usr}_device", strict=True)
def main(args, readings):
    return {"user": args["usr"], "readings": readings.open().read().decode()}
'''
READER_ANNOTATION = {"key": "edgewhisk", "value": {
    "version": 1,
    "consumes": [{"kind": "data", "name": "readings", "ref": "{usr}/glucose",
                  "locality": "local"}],
    "policies": [{"type": "fn", "node": "{usr}_device", "strict": True}]}}
FLEET = [
    {"id": "cloud-1", "site": "dc"},
    {"id": "u1-phone", "role": "edge", "owner": "u1"},
    {"id": "u2-phone", "role": "edge", "owner": "u2"},
    {"id": "u3-watch", "role": "edge", "owner": "u3", "kinds": ["nodejs:default"]},
]
DEVICES = {"u1": "u1-phone", "u2": "u2-phone", "u3": "u3-watch"}


def hold_readings(data: Path, user: str, device: str) -> str:
    """The user's readings in the device's node store (as collected there); their sha256."""
    readings = f"readings of {user}".encode()
    blob = data.parent / f"{user}.bin"
    blob.write_bytes(readings)
    sha = hashlib.sha256(readings).hexdigest()
    store = NodeStore(data / "node-store" / device, capacity_bytes=1 << 20, by=device)
    asyncio.run(store.add_blob(f"guest/{user}/glucose@1", blob, sha256=sha,
                               size=len(readings), format="bytes", kind="data",
                               locality="local", pinned=True))
    return sha


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    folder = tmp_path_factory.mktemp("fanout")
    (folder / "fleet.json").write_text(json.dumps(FLEET))
    sha = {user: hold_readings(folder / "data", user, device) for user, device in DEVICES.items()}
    controller = Controller(folder / "data", "--fleet", str(folder / "fleet.json")).start()
    try:
        with controller.client() as guest:
            for user, device in DEVICES.items():
                registered = guest.request("PUT", f"artifacts/{user}/glucose", params={
                    "kind": "data", "locality": "local", "held_by": device, "sha256": sha[user],
                    "size": str(len(f"readings of {user}"))})
                assert registered.status_code == 200, registered.text
            create_action(guest, "reader", READER, annotations=[READER_ANNOTATION])
            yield guest
    finally:
        assert controller.stop() == 0


def test_a_blocking_fan_out_runs_each_feasible_user_on_their_device(fleet: Client) -> None:
    answer = fleet.request("POST", "actions/reader?blocking=true", json={})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    fanout = body["fanout"]
    assert [(a["user"], a["invoker"]) for a in fanout["activations"]] == [
        ("u1", "u1-phone"), ("u2", "u2-phone")]
    assert fanout["users"] == 3 and fanout["excluded"]["count"] == 1
    assert fanout["excluded"]["users"]["u3"] == (
        "0/4 invokers are available: 1 without kind 'python:3', 3 not matching node u3_device.")
    for entry in fanout["activations"]:
        assert entry["response"]["result"] == {
            "user": entry["user"], "readings": f"readings of {entry['user']}"}
        child = fleet.activations.wait(entry["activationId"])
        assert child["cause"] == body["activationId"]
        assert {a["key"]: a["value"] for a in child["annotations"]}["invoker"] == entry["invoker"]
    parent = fleet.activations.wait(body["activationId"])
    assert parent["response"]["result"]["fanout"]["users"] == 3
    assert parent["logs"] == [f"u3: {fanout['excluded']['users']['u3']}"]


def test_a_non_blocking_fan_out_names_every_child_at_once(fleet: Client) -> None:
    answer = fleet.request("POST", "actions/reader", json={})
    assert answer.status_code == 202, answer.text
    body = answer.json()
    ids = [a["activationId"] for a in body["fanout"]["activations"]]
    assert set(body) == {"activationId", "fanout"} and len(ids) == 2
    users = sorted(fleet.activations.wait(id)["response"]["result"]["user"] for id in ids)
    assert users == ["u1", "u2"]


def test_a_bound_user_runs_once_on_their_device(fleet: Client) -> None:
    record = fleet.request("POST", "actions/reader?blocking=true", json={"usr": "u2"}).json()
    assert record["response"]["result"]["user"] == "u2" and "fanout" not in record
    assert {a["key"]: a["value"] for a in record["annotations"]}["invoker"] == "u2-phone"
