"""``--fleet FILE``: local invokers with placement attributes, checked before anything runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from edgewhisk_controller.invokers.fleet import load_fleet


def write(tmp_path: Path, doc: Any) -> Path:
    path = tmp_path / "fleet.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def test_a_fleet_member_carries_its_attributes(tmp_path: Path) -> None:
    fleet = load_fleet(write(tmp_path, [
        {"id": "cloud-1"},
        {"id": "u1-phone", "role": "edge", "owner": "u1", "site": "home-u1",
         "networks": ["home_u1"], "labels": {"os": "android"}, "capabilities": ["camera"],
         "memory_mb": 512, "kinds": ["python:3"], "namespaces": ["guest"],
         "bandwidth_mbps": 20, "cpus": 2, "cached": ["u1/glucose"]},
    ]))
    assert [m.id for m in fleet] == ["cloud-1", "u1-phone"]
    assert fleet[0].attributes["role"] == "cloud" and fleet[0].memory_mb is None
    phone = fleet[1]
    assert (phone.memory_mb, phone.kinds, phone.namespaces) == (
        512, frozenset({"python:3"}), frozenset({"guest"}))
    assert phone.attributes == {
        "role": "edge", "owner": "u1", "site": "home-u1", "labels": {"os": "android"},
        "capabilities": frozenset({"camera"}), "networks": frozenset({"home_u1"}),
        "cached": frozenset({"u1/glucose"}), "bandwidth_mbps": 20.0, "cpus": 2.0}


BAD = [
    pytest.param("not json", "cannot read the fleet file", id="not JSON"),
    pytest.param([], "non-empty JSON list", id="an empty list"),
    pytest.param([{"site": "x"}], "fleet[0]: an object with a non-empty string 'id'",
                 id="a member without an id"),
    pytest.param([{"id": "a"}, {"id": "a"}], "unique", id="a duplicate id"),
    pytest.param([{"id": "a", "capability": ["gpu"]}], "fleet[0]: unknown keys capability",
                 id="a misspelt key"),
    pytest.param([{"id": "a", "role": "fog"}], "fleet[0].role", id="an unknown role"),
    pytest.param([{"id": "a", "networks": "home"}], "fleet[0].networks: a list of strings",
                 id="a set given as a string"),
    pytest.param([{"id": "a", "memory_mb": 64}], "fleet[0].memory_mb", id="too little memory"),
    pytest.param([{"id": "a", "labels": {"k": 1}}], "fleet[0].labels", id="a label not a string"),
]


@pytest.mark.parametrize("doc, message", BAD)
def test_a_bad_fleet_file_is_refused_with_the_field(tmp_path: Path, doc: Any,
                                                    message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_fleet(write(tmp_path, doc))
