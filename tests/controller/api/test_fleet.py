"""``--fleet`` and ``--placement-config``: a simulated fleet on one machine, placed by the
engine from the actions' edgewhisk annotations, seen in each record's ``invoker``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from edgewhisk_devkit import StartError

from .harness import Controller, create_action

CODE = "def main(args):\n    return {'ok': True}\n"
FLEET = [
    {"id": "cloud-1", "site": "dc"},
    {"id": "gpu-box", "site": "dc", "capabilities": ["gpu"], "networks": ["company_network"],
     "labels": {"gpu": "a100"}},
    {"id": "u1-phone", "role": "edge", "owner": "u1", "site": "home-u1",
     "networks": ["home_u1"], "memory_mb": 256},
]


def annotation(*policies: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": "edgewhisk", "value": {"version": 1, "policies": list(policies)}}]


@pytest.fixture(scope="module")
def fleet_controller(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("fleet")
    (folder / "fleet.json").write_text(json.dumps(FLEET))
    (folder / "placement.json").write_text(json.dumps({"site": "dc"}))
    controller = Controller(folder / "data", "--fleet", str(folder / "fleet.json"),
                            "--placement-config", str(folder / "placement.json")).start()
    yield controller
    assert controller.stop() == 0


CASES = [
    pytest.param([{"type": "fn", "capability": "gpu", "strict": True}], "gpu-box",
                 id="a strict capability lands on the invoker that has it"),
    pytest.param([{"type": "fn", "node": "u1_device", "strict": True}], "u1-phone",
                 id="a user's device is named <user>_device"),
    pytest.param([{"type": "data", "network": ["home_u1", "company_network"],
                   "strict": True}, {"type": "fn", "node": "edge"}], "u1-phone",
                 id="a strict network filters and a preferred role decides"),
    pytest.param([{"type": "fn", "node": "gpu=a100", "strict": True}], "gpu-box",
                 id="a node written k=v matches an invoker's label"),
]


@pytest.mark.parametrize("policies, invoker", CASES)
def test_annotations_place_on_the_fleet(fleet_controller: Controller,
                                        policies: list[dict[str, Any]], invoker: str) -> None:
    name = f"a{abs(hash(invoker + json.dumps(policies))) % 10**8}"
    with fleet_controller.client() as guest:
        create_action(guest, name, CODE, annotations=annotation(*policies))
        record = guest.request("POST", f"actions/{name}?blocking=true", json={}).json()
    assert record["response"]["result"] == {"ok": True}, record
    assert {a["key"]: a["value"] for a in record["annotations"]}["invoker"] == invoker


def test_an_unschedulable_action_names_the_constraint(fleet_controller: Controller) -> None:
    with fleet_controller.client() as guest:
        create_action(guest, "tpu", CODE, annotations=annotation(
            {"type": "fn", "capability": "tpu", "strict": True}))
        record = guest.request("POST", "actions/tpu?blocking=true", json={}).json()
    assert record["response"]["status"] == "whisk internal error"
    assert record["response"]["result"]["error"] == (
        "0/3 invokers are available: 3 without capability tpu.")


@pytest.mark.parametrize("option, content", [
    pytest.param("--fleet", '[{"id": "a", "role": "fog"}]', id="a fleet with a bad role"),
    pytest.param("--placement-config", '{"weights": {"Proximity": "far"}}',
                 id="a placement config with a bad weight"),
])
def test_bad_files_are_refused_before_starting(tmp_path: Path, option: str,
                                               content: str) -> None:
    (tmp_path / "file.json").write_text(content)
    with pytest.raises(StartError) as refused:
        Controller(tmp_path, option, str(tmp_path / "file.json")).start()
    assert refused.value.status == 2 and refused.value.output == [], refused.value.log
    assert refused.value.log.startswith("error: ")
