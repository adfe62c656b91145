"""``POST .../artifacts/{name}/preload`` through a real controller process whose ``--fleet``
of local invokers each keep a node store (``DATA/node-store/ID``): a device selector picks the
invokers, the version lands in their stores (their access logs say so), a second preload finds
it cached; bad requests are clear errors that move no byte."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..api.harness import Client, Controller

FLEET = [
    {"id": "cloud-1", "labels": {"tier": "cloud"}},
    {"id": "plant-a", "role": "edge", "owner": "u1", "labels": {"site": "plant"},
     "networks": ["plant"], "capabilities": ["gpu"]},
    {"id": "plant-b", "role": "edge", "owner": "u2", "labels": {"site": "plant"},
     "networks": ["plant"]},
    {"id": "office", "role": "edge", "owner": "u1", "labels": {"site": "office"}},
]
MODEL = b"field technician model " * 100


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("preload") / "data"


@pytest.fixture(scope="module")
def controller(data_dir: Path) -> Iterator[Controller]:
    fleet = data_dir.parent / "fleet.json"
    fleet.write_text(json.dumps(FLEET))
    controller = Controller(data_dir, "--fleet", str(fleet)).start()
    try:
        yield controller
    finally:
        assert controller.stop() == 0


def upload(client: Client, name: str, data: bytes, **query: str) -> dict[str, Any]:
    answer = client.request("PUT", f"artifacts/{name}", data=data, params={
        "kind": "model", "sha256": hashlib.sha256(data).hexdigest(), **query})
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def puts(data_dir: Path, invoker: str) -> list[str]:
    """Keys the invoker's node store put (its access log)."""
    log = data_dir / "node-store" / invoker / "access.log"
    lines = log.read_text().splitlines() if log.exists() else []
    return [entry["key"] for entry in map(json.loads, lines) if entry["op"] == "put"]


def preload(client: Client, target: str, **body: Any) -> Any:
    return client.request("POST", f"artifacts/{target}/preload", json=body)


def test_a_version_is_pushed_to_the_devices_the_selector_picks(guest: Client,
                                                               data_dir: Path) -> None:
    doc = upload(guest, "pre/model", MODEL)
    key = f"guest/pre/model@{doc['version']}"
    answer = preload(guest, "pre/model", devices={"labels": {"site": "plant"}})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"artifact": key, "devices": [
        {"invoker": "plant-a", "status": "preloaded", "reason": None},
        {"invoker": "plant-b", "status": "preloaded", "reason": None}]}
    assert puts(data_dir, "plant-a") == [key] and puts(data_dir, "plant-b") == [key]
    assert puts(data_dir, "office") == [] and puts(data_dir, "cloud-1") == []
    again = preload(guest, f"pre/model@{doc['version']}", devices={"networks": ["plant"]})
    assert [d["status"] for d in again.json()["devices"]] == ["cached", "cached"]
    assert puts(data_dir, "plant-a") == [key]


@pytest.mark.parametrize("devices, chosen", [
    pytest.param({"owner": "u1"}, ["office", "plant-a"], id="by owner"),
    pytest.param({"owner": "u1", "capabilities": ["gpu"]}, ["plant-a"],
                 id="by owner and capability"),
    pytest.param({"role": "cloud"}, ["cloud-1"], id="by role"),
    pytest.param({"min_battery": 0.5, "charging": True, "unmetered": True},
                 ["cloud-1", "office", "plant-a", "plant-b"],
                 id="by context: mains powered, unmetered local invokers match"),
    pytest.param({"charging": False}, [], id="not charging: none is on battery"),
    pytest.param({"site": "plant-a"}, [], id="by site"),
    pytest.param({"labels": {"site": "moon"}}, [], id="a selector matching nothing"),
])
def test_every_selector_field_must_hold(guest: Client, devices: dict[str, Any],
                                        chosen: list[str]) -> None:
    upload(guest, "pre/choice", MODEL)
    answer = preload(guest, "pre/choice", devices=devices)
    assert answer.status_code == 200, answer.text
    assert [d["invoker"] for d in answer.json()["devices"]] == chosen


@pytest.mark.parametrize("target, body, status, words", [
    pytest.param("pre/unknown", {}, 404, "no artifact pre/unknown", id="an unknown artifact"),
    pytest.param("pre/bad", {"version": 9}, 404, "no version 9 of artifact pre/bad",
                 id="an unknown version"),
    pytest.param("pre/bad@1", {"version": 2}, 400, "differs from the path's @1",
                 id="two versions"),
    pytest.param("pre/bad", {"devices": {"labels": "plant"}}, 400,
                 "devices.labels: must be an object of strings", id="malformed labels"),
    pytest.param("pre/bad", {"devices": {"zone": "plant"}}, 400,
                 "devices: unknown field 'zone'", id="an unknown selector field"),
    pytest.param("pre/bad", {"devices": {"unmetered": "yes"}}, 400,
                 "devices.unmetered: must be true or false", id="unmetered not a boolean"),
    pytest.param("pre/bad", {"devices": {"min_battery": 2}}, 400,
                 "devices.min_battery: must be a number from 0 to 1", id="a battery over 1"),
    pytest.param("pre/bad", {"to": "all"}, 400, "to", id="an unknown body field"),
    pytest.param("pre/private", {"devices": {"owner": "u1"}}, 403,
                 "artifact pre/private@1 is local to its device; only its metadata leaves "
                 "it: it cannot be preloaded", id="a local artifact"),
])
def test_a_bad_preload_is_a_clear_error_and_moves_nothing(
        guest: Client, data_dir: Path, target: str, body: dict[str, Any], status: int,
        words: str) -> None:
    upload(guest, "pre/bad", MODEL)
    if not guest.request("GET", "artifacts/pre/private").ok:
        data = b"private"
        upload(guest, "pre/private", b"", locality="local", held_by="plant-a",
               size=str(len(data)), sha256=hashlib.sha256(data).hexdigest())
    before = {i["id"]: puts(data_dir, i["id"]) for i in FLEET}
    answer = preload(guest, target, **body)
    assert answer.status_code == status, answer.text
    assert words in answer.json()["error"]
    assert {i["id"]: puts(data_dir, i["id"]) for i in FLEET} == before


def test_preload_is_a_post(guest: Client) -> None:
    answer = guest.request("GET", "artifacts/pre/model/preload")
    assert answer.status_code == 400 and "POST to preload" in answer.json()["error"]


def test_another_namespace_cannot_preload_ours(other: Client) -> None:
    answer = other.request("POST", "artifacts/pre/model/preload", namespace="guest",
                           json={})
    assert answer.status_code in (401, 403), answer.text
