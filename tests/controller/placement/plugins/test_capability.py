"""Capability: hard needs every listed capability; soft scores the fraction held."""

from __future__ import annotations

import pytest

from ..cluster import inv, passing, scores

CLUSTER = [inv("plain"), inv("gpu", caps={"gpu"}), inv("both", caps={"gpu", "camera"})]
FILTER = [
    pytest.param("gpu", ["gpu", "both"], id="one capability as a string"),
    pytest.param(("gpu", "camera"), ["both"], id="every listed capability is needed"),
    pytest.param(("tpu",), [], id="a capability nobody has excludes everyone"),
    pytest.param((), ["plain", "gpu", "both"], id="no capability asked lets all through"),
]


@pytest.mark.parametrize("caps, expected", FILTER)
def test_capability_filter(caps: object, expected: list[str]) -> None:
    assert passing("Capability", CLUSTER, {"capabilities": caps}) == expected


SCORE = [
    pytest.param(("gpu", "camera"), [0, 50, 100], id="the score is the fraction held"),
    pytest.param("gpu", [0, 100, 100], id="a single capability scores all or nothing"),
]


@pytest.mark.parametrize("caps, expected", SCORE)
def test_capability_score(caps: object, expected: list[float]) -> None:
    assert scores("Capability", CLUSTER, {"capabilities": caps}) == expected
