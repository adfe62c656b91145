"""Health: unhealthy invokers never run activations."""

from __future__ import annotations

import pytest

from ..cluster import inv, passing

CASES = [
    pytest.param([inv("a"), inv("b", healthy=False)], ["a"], id="an unhealthy invoker is out"),
    pytest.param([inv("a", healthy=False)], [], id="nothing passes when all are down"),
    pytest.param([inv("a"), inv("b")], ["a", "b"], id="healthy invokers all pass"),
]


@pytest.mark.parametrize("invokers, expected", CASES)
def test_health_filter(invokers: list, expected: list[str]) -> None:
    assert passing("Health", invokers) == expected
