"""NodeSelector: node= matches an id, a role, <owner>_device, or a label k=v."""

from __future__ import annotations

import pytest

from ..cluster import inv, passing, scores

CLUSTER = [
    inv("cloud-1"),
    inv("phone", role="edge", owner="u1", labels={"zone": "home"}),
    inv("watch", role="edge", owner="u1"),
    inv("tablet", role="edge", owner="u2", labels={"zone": "office"}),
]
CASES = [
    pytest.param("cloud-1", ["cloud-1"], id="an id names one invoker"),
    pytest.param("edge", ["phone", "watch", "tablet"], id="a role names every invoker of it"),
    pytest.param("u1_device", ["phone", "watch"], id="a user's devices are <user>_device"),
    pytest.param("u9_device", [], id="a user without devices matches nothing"),
    pytest.param("zone=home", ["phone"], id="a label is written k=v"),
    pytest.param(("zone=office", "cloud"), ["cloud-1", "tablet"], id="several names: any"),
]


@pytest.mark.parametrize("node, expected", CASES)
def test_node_selector_filter(node: str, expected: list[str]) -> None:
    assert passing("NodeSelector", CLUSTER, {"node": node}) == expected


def test_node_selector_scores_a_match_100() -> None:
    assert scores("NodeSelector", CLUSTER, {"node": "u1_device"}) == [0, 100, 100, 0]
