"""AskingDevice: the device that forwarded the invoke scores 100, every other invoker 0; in a
placement it outweighs load or warmth, not a soft preference the action declares itself (weight
2), and a hard constraint still excludes it."""

from __future__ import annotations

import pytest
from edgewhisk_controller.placement import PlacementConfig, PlacementRequest
from edgewhisk_controller.placement.config import DEFAULT_WEIGHTS
from edgewhisk_controller.placement.constraints import ASKING_DEVICE

from ..cluster import engine_of, given, hard, inv, scores, soft

CLUSTER = [
    inv("cloud-1"),
    inv("tablet-1", role="edge", owner="u1", caps={"camera"}),
    inv("tablet-2", role="edge", owner="u1", in_flight=3, free=256),  # busier, less free
]
SCORES = [
    pytest.param("tablet-2", [0, 0, 100], id="the asker scores 100"),
    pytest.param("cloud-1", [100, 0, 0], id="any invoker id may ask"),
    pytest.param("tablet-9", [0, 0, 0], id="an unknown id changes nothing"),
    pytest.param("", [0, 0, 0], id="an empty id matches nothing"),
]


@pytest.mark.parametrize("asker, expected", SCORES)
def test_asking_device_score(asker: str, expected: list[float]) -> None:
    assert scores(ASKING_DEVICE, CLUSTER, {"invoker": asker}) == expected


REQUEST = PlacementRequest("u1/classify", "python:3", 256, "u1", version="0.0.1")
WEIGHT = DEFAULT_WEIGHTS[ASKING_DEVICE]
PLACEMENTS = [
    pytest.param((), None, "cloud-1", id="no asker: the least loaded"),
    pytest.param((), "tablet-2", "tablet-2", id="the asker wins though busier"),
    pytest.param((), "tablet-9", "cloud-1", id="an unknown asker: as without one"),
    pytest.param((hard("NodeSelector", node="tablet-1"),), "tablet-2", "tablet-1",
                 id="a policy that excludes the asker still sends it elsewhere"),
    pytest.param((hard("Capability", capabilities="camera"),), "tablet-2", "tablet-1",
                 id="an asker without the capability is no candidate"),
    pytest.param((hard("NodeSelector", node="u1_device"),), "tablet-2", "tablet-2",
                 id="a policy that allows it: the asker"),
    pytest.param((soft("NodeSelector", 2.0, node="tablet-1"),), "tablet-2", "tablet-1",
                 id="the action's own soft preference outweighs the asker"),
]


@pytest.mark.parametrize("policy, asker, expected", PLACEMENTS)
def test_asking_device_in_a_placement(policy: tuple, asker: str | None, expected: str) -> None:
    constraints = policy if asker is None else (*policy, soft(ASKING_DEVICE, WEIGHT,
                                                              invoker=asker))
    engine = engine_of(CLUSTER)
    assert engine.place(REQUEST, given(*constraints)) == expected


def test_the_explanation_names_it_when_it_decided() -> None:
    engine = engine_of(CLUSTER)
    bound = given(soft(ASKING_DEVICE, WEIGHT, invoker="tablet-2"))
    assert engine.place(REQUEST, bound) == "tablet-2"
    why = engine.why(REQUEST, "tablet-2", bound)
    assert why is not None
    assert why["terms"][0] == {"plugin": ASKING_DEVICE, "score": WEIGHT * 100, "runnerUp": 0.0}


def test_a_weight_of_zero_turns_it_off() -> None:
    config = PlacementConfig(weights={**DEFAULT_WEIGHTS, ASKING_DEVICE: 0.0})
    engine = engine_of(CLUSTER, config)
    bound = given(soft(ASKING_DEVICE, config.weight(ASKING_DEVICE), invoker="tablet-2"))
    assert engine.place(REQUEST, bound) == "cloud-1"
