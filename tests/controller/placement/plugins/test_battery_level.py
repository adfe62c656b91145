"""BatteryLevel: the live battery level against a predicate (hard), preferred (soft)."""

from __future__ import annotations

import pytest

from ..cluster import engine_of, inv, passing, scores

CLUSTER = [inv("low", battery=0.1), inv("half", battery=0.5), inv("full", battery=1.0),
           inv("mains")]
CASES = [
    pytest.param(">=", 0.3, ["half", "full", "mains"], id="at least 30 %: mains passes"),
    pytest.param(">", 0.5, ["full", "mains"], id="strictly above is strict"),
    pytest.param("<", 0.2, ["low", "mains"], id="below: a mains-powered invoker has no level"),
    pytest.param("<=", 0.0, ["mains"], id="nothing is empty"),
]


@pytest.mark.parametrize("op, level, expected", CASES)
def test_battery_level_filter(op: str, level: float, expected: list[str]) -> None:
    assert passing("BatteryLevel", CLUSTER, {"op": op, "level": level}) == expected


def test_battery_level_prefers_the_invokers_that_pass() -> None:
    assert scores("BatteryLevel", CLUSTER, {"op": ">=", "level": 0.3}) == [0, 100, 100, 100]


def test_a_context_report_moves_an_invoker_in_and_out() -> None:
    engine = engine_of(CLUSTER)
    args = {"op": ">=", "level": 0.3}
    engine.heartbeat("low", battery=0.35)
    engine.heartbeat("full", battery=0.2)
    assert passing("BatteryLevel", [], args, engine=engine) == ["low", "half", "mains"]
    assert engine.state.snapshot("low").battery == 0.35
    assert engine.state.snapshot("mains").battery is None
