"""ArtifactLocality: hard holds every artifact; soft prefers the shortest transfer."""

from __future__ import annotations

import pytest
from edgewhisk_controller.placement import PlacementConfig

from ..cluster import engine_of, inv, passing, scores

CONFIG = PlacementConfig(latency_ms={"home|cloud": 40.0}, site="cloud")
CLUSTER = [
    inv("phone", cached={"u1/glucose"}, site="home", bandwidth_mbps=10.0),
    inv("fast", site="cloud", bandwidth_mbps=1000.0),
    inv("slow", site="cloud", bandwidth_mbps=8.0),
]
FILTER = [
    pytest.param(("u1/glucose",), ["phone"], id="only holders of a local artifact pass"),
    pytest.param((("u1/glucose", 100),), ["phone"], id="a (key, size) pair works the same"),
    pytest.param(("u1/glucose", "base"), [], id="every listed artifact must be held"),
]


@pytest.mark.parametrize("artifacts, expected", FILTER)
def test_artifact_locality_filter(artifacts: tuple, expected: list[str]) -> None:
    assert passing("ArtifactLocality", CLUSTER, {"artifacts": artifacts}) == expected


SCORE = [
    pytest.param((("u1/glucose", 10**6),), [100, 95.38, 0],
                 id="the holder moves nothing; a slow link scores lowest"),
    pytest.param((("u1/glucose", 0),), [0, 0, 0], id="nothing to move: all tie at 0"),
    pytest.param(("u1/glucose",), [0, 0, 0], id="an unknown size counts as nothing to move"),
]


@pytest.mark.parametrize("artifacts, expected", SCORE)
def test_artifact_locality_score(artifacts: tuple, expected: list[float]) -> None:
    assert scores("ArtifactLocality", CLUSTER, {"artifacts": artifacts, "site": "home"},
                  config=CONFIG) == expected


def test_learnt_sizes_count_for_plain_keys() -> None:
    engine = engine_of(CLUSTER, CONFIG)
    engine.artifact_sizes({"u1/glucose": 10**6})
    assert scores("ArtifactLocality", CLUSTER, {"artifacts": ("u1/glucose",), "site": "home"},
                  engine=engine) == [100, 95.38, 0]
