"""place_many decides a fan-out's bindings together with the results of one-by-one placing.

Bindings differ in a hard ``NodeSelector`` on ``{usr}_device`` (or a user's home network),
share the rest; for random clusters and shared constraints every decision has the brute-force
reference's best total for its binding, with and without ``commit``.
"""

from __future__ import annotations

from typing import Any

from edgewhisk_controller.placement import (
    Constraint,
    Constraints,
    Engine,
    PlacementConfig,
    Unschedulable,
)
from edgewhisk_controller.placement import constraints as c
from edgewhisk_controller.placement.together import TOGETHER_MIN, place_together
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .test_against_reference import CONFIG, check_decision, constraint, invokers, scenarios

USERS = [f"u{i}" for i in range(TOGETHER_MIN + 4)]


@st.composite
def fan_outs(draw: Any) -> dict[str, Any]:
    scenario = draw(scenarios())
    n = len(scenario["cluster"])
    owned = [draw(invokers(n + i)) for i in range(draw(st.integers(0, 12)))]
    for i, state in enumerate(owned):
        owned[i] = type(state)(**{**state.__dict__, "owner": draw(st.sampled_from(USERS)),
                                  "networks": frozenset({f"home_{draw(st.sampled_from(USERS))}"})})
    own = draw(st.sampled_from(["node", "network"]))
    scenario.update(cluster=scenario["cluster"] + owned, own=own,
                    shared=[constraint(draw) for _ in range(draw(st.integers(0, 4)))])
    return scenario


def bounds_of(scenario: dict[str, Any]) -> list[Constraints]:
    def own(user: str) -> Constraint:
        if scenario["own"] == "node":
            return Constraint(c.NodeSelectorArgs(f"{user}_device"), True)
        return Constraint(c.NetworkMembershipArgs((f"home_{user}",)), True)
    return [Constraints((*scenario["shared"], own(user))) for user in USERS]


def engine_of(scenario: dict[str, Any]) -> Engine:
    config = PlacementConfig(**{**CONFIG.__dict__, "queue_when_full": scenario["queue"]})
    engine = Engine(config)
    for state in scenario["cluster"]:
        engine.register(state)
    return engine


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(fan_outs(), st.booleans())
def test_place_many_decides_as_the_reference_does(scenario: dict[str, Any],
                                                  commit: bool) -> None:
    engine, twin = engine_of(scenario), engine_of(scenario)
    request, bounds = scenario["request"], bounds_of(scenario)
    decisions = engine.place_many(request, bounds, commit=commit)
    for bound, decision in zip(bounds, decisions, strict=True):
        check_decision(twin, request, bound, decision)
        if commit and not isinstance(decision, Unschedulable):
            twin.placed(decision, request.memory_mb, request.key)
    assert place_together(engine_of(scenario), request, bounds, False) is not None  # not 1 by 1
