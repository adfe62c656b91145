"""Proximity: the nearest candidates score 100, the farthest 0 (site latency matrix)."""

from __future__ import annotations

import pytest
from edgewhisk_controller.placement import PlacementConfig

from ..cluster import inv, scores

CONFIG = PlacementConfig(site="cloud", latency_ms={"home|cloud": 40.0, "home|office": 10.0},
                         default_latency_ms=100.0)
CLUSTER = [inv("c", site="cloud"), inv("h", site="home"), inv("o", site="office"),
           inv("d", site="")]
CASES = [
    pytest.param("home", [0, 100, 76.92, 0], id="from home: home, then the office"),
    pytest.param(None, [100, 60.61, 0, 100], id="no site: the controller's site"),
    pytest.param("cloud", [100, 60.61, 0, 100], id="an empty invoker site is the controller's"),
]


@pytest.mark.parametrize("site, expected", CASES)
def test_proximity_score(site: str | None, expected: list[float]) -> None:
    assert scores("Proximity", CLUSTER, {"site": site}, config=CONFIG) == expected


def test_one_site_only_ties_at_zero() -> None:
    assert scores("Proximity", [inv("a"), inv("b")], {"site": "x"}) == [0, 0]
