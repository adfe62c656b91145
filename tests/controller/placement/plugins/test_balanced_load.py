"""BalancedLoad: the share of memory free, as the engine accounts it."""

from __future__ import annotations

import pytest

from ..cluster import engine_of, inv, scores

CASES = [
    pytest.param([inv("a", memory=1024, free=1024), inv("b", memory=2048, free=512)],
                 [100, 25], id="the free share, not free megabytes"),
    pytest.param([inv("a", memory=0, free=0)], [0], id="an invoker without memory scores 0"),
]


@pytest.mark.parametrize("invokers, expected", CASES)
def test_balanced_load_score(invokers: list, expected: list[float]) -> None:
    assert scores("BalancedLoad", invokers) == expected


def test_placements_hold_memory_until_they_complete() -> None:
    engine = engine_of([inv("a"), inv("b")])
    engine.placed("a", 256, "guest/x@1")
    assert scores("BalancedLoad", [], engine=engine) == [75, 100]
    engine.completed("a", 256, "guest/x@1", 5.0, True)
    assert scores("BalancedLoad", [], engine=engine) == [100, 100]
