"""The Engine: tie rule, explanations, caches that follow the state, fan-out, weights."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from edgewhisk_controller.placement import (
    Constraint,
    Constraints,
    PlacementConfig,
    PlacementRequest,
    Unschedulable,
)
from edgewhisk_controller.placement import constraints as c

from .cluster import engine_of, given, hard, inv, soft

REQUEST = PlacementRequest("guest/a", "python:3", 256, "guest", version="0.0.1")


def test_ties_go_to_the_lowest_row_which_is_registration_order() -> None:
    engine = engine_of([inv("z"), inv("a"), inv("m")])
    assert engine.place(REQUEST) == "z"
    engine.unregister("z")
    assert engine.place(REQUEST) == "a"
    engine.register(inv("late"))  # takes the freed row 0
    assert engine.place(REQUEST) == "late"


UNSCHEDULABLE = [
    pytest.param(
        [inv("a"), inv("b", caps={"gpu"}), inv("c", caps={"gpu"}, networks={"home_u1"}),
         inv("d", healthy=False)],
        given(hard(c.CAPABILITY, capabilities=("gpu",)),
              hard(c.NETWORK_MEMBERSHIP, networks=("company_network",))),
        "0/4 invokers are available: 1 unhealthy, 1 without capability gpu, "
        "2 not in network company_network.",
        id="each invoker is counted under the first hard constraint it fails"),
    pytest.param(
        [inv("a", kinds={"nodejs:default"}), inv("b", memory=128),
         inv("c", namespaces={"team"})],
        given(),
        "0/3 invokers are available: 1 not serving namespace 'guest', "
        "1 with too little memory (needs 256 MB), 1 without kind 'python:3'.",
        id="the request's own constraints explain themselves"),
    pytest.param([], given(), "0/0 invokers are available: no invoker is registered.",
                 id="an empty cluster says so"),
    pytest.param(
        [inv("a"), inv("b")],
        given(hard(c.DEADLINE_FEASIBILITY, within_s=0.01)),
        "0/2 invokers are available: 2 unable to finish within 0.01 s.",
        id="a dynamic hard constraint is counted too"),
]


@pytest.mark.parametrize("invokers, bound, reason", UNSCHEDULABLE)
def test_unschedulable_names_each_hard_constraint(invokers: list, bound: Constraints,
                                                  reason: str) -> None:
    decision = engine_of(invokers).place(REQUEST, bound)
    assert isinstance(decision, Unschedulable)
    assert decision.reason == reason


def test_unschedulable_counts_by_plugin_for_programs() -> None:
    decision = engine_of([inv("a"), inv("b", caps={"gpu"})]).place(
        REQUEST, given(hard(c.CAPABILITY, capabilities="tpu")))
    assert isinstance(decision, Unschedulable)
    assert decision.plugins == {c.CAPABILITY: 2}


def test_cached_masks_follow_static_changes() -> None:
    engine = engine_of([inv("a"), inv("b")])
    bound = given(hard(c.NETWORK_MEMBERSHIP, networks=("company",)))
    assert isinstance(engine.place(REQUEST, bound), Unschedulable)
    engine.heartbeat("b", networks=frozenset({"company"}))
    assert engine.place(REQUEST, bound) == "b"
    engine.heartbeat("b", healthy=False)
    assert isinstance(engine.place(REQUEST, bound), Unschedulable)


def test_load_spreads_as_placements_hold_memory() -> None:
    engine = engine_of([inv("a"), inv("b"), inv("c")])
    chosen = []
    for _ in range(6):
        decision = engine.place(REQUEST)
        assert isinstance(decision, str)
        engine.placed(decision, 256, REQUEST.key)
        chosen.append(decision)
    assert chosen == ["a", "b", "c", "a", "b", "c"]


def test_a_warm_container_outweighs_a_little_load() -> None:
    engine = engine_of([inv("a"), inv("b")])
    engine.placed("b", 128, REQUEST.key)
    engine.completed("b", 128, REQUEST.key, 30.0, warm=True)
    engine.placed("b", 128, "guest/other@1")  # b holds more memory, but is warm
    assert engine.place(REQUEST) == "b"


def test_a_selective_hard_constraint_keeps_only_its_rows() -> None:
    engine = engine_of([inv(f"i{n}", owner=f"u{n % 50}") for n in range(200)])
    bound = given(hard(c.NODE_SELECTOR, node="u7_device"))
    assert engine.place(REQUEST, bound) == "i7"
    engine.placed("i7", 512, REQUEST.key)
    assert engine.place(REQUEST, bound) == "i57"
    entry = next(iter(engine.cache.entries.values()))
    assert entry.rows is not None and list(entry.rows) == [7, 57, 107, 157]


def test_weights_come_from_the_constraints_and_the_config() -> None:
    cluster = [inv("gpu", caps={"gpu"}), inv("near", site="home")]
    request = PlacementRequest("guest/a", "python:3", 256, "guest", site="home")
    prefer_gpu = given(soft(c.CAPABILITY, 3.0, capabilities="gpu"))
    assert engine_of(cluster).place(request, prefer_gpu) == "gpu"
    config = PlacementConfig(weights={c.PROXIMITY: 5.0})
    assert engine_of(cluster, config).place(request, prefer_gpu) == "near"


def test_fan_out_places_many_and_can_commit_each() -> None:
    engine = engine_of([inv("p1", owner="u1"), inv("p2", owner="u2"), inv("shared")])
    bounds = [given(hard(c.NODE_SELECTOR, node=f"{u}_device")) for u in ("u1", "u2", "u3")]
    decisions = engine.place_many(REQUEST, bounds, commit=True)
    assert decisions[:2] == ["p1", "p2"] and isinstance(decisions[2], Unschedulable)
    assert int(engine.state.cols["in_flight"][0]) == 1
    assert engine.owners("guest") == ["u1", "u2"]


@dataclass(frozen=True)
class Bound:
    key: str
    constraints: tuple[Constraint, ...]


def test_a_bound_action_is_cached_by_its_key_and_its_always_constraints_win() -> None:
    engine = engine_of([inv("a", memory=512), inv("b", memory=2048)])
    bound = Bound("guest/a@0.0.1|usr=u1", (
        Constraint(c.HealthArgs(), True), Constraint(c.ResourcesFitArgs(1024), True)))
    assert [k.plugin for k in engine.constraints_for(REQUEST, bound)].count(c.RESOURCES_FIT) == 1
    assert engine.place(REQUEST, bound) == "b"
    assert engine.place(REQUEST, bound) == "b"
    assert len(engine.cache.entries) == 1


def test_a_heartbeat_repeating_static_attributes_keeps_the_caches() -> None:
    engine = engine_of([inv("a", networks={"n"}, bandwidth_mbps=12.3, site="x")])
    engine.place(REQUEST)
    restated = engine.state.restated.seq
    engine.heartbeat("a", networks=frozenset({"n"}), bandwidth_mbps=12.3, site="x",
                     memory_mb=1024, role="cloud", healthy=True, free_memory_mb=512)
    assert engine.state.restated.seq == restated
    engine.heartbeat("a", site="y")
    assert engine.state.restated.seq == restated + 1
    assert engine.state.snapshot("a").site == "y"
