"""The engine against the brute-force reference, on random clusters and constraint sets.

For every generated cluster, event history and bound constraint list: the engine's choice has
the reference's best total (to float32 rounding), never violates a hard constraint, and when
the reference finds nothing feasible the engine answers Unschedulable with the same counts.
Placing after every event checks that the cached entries follow the state: their totals are
caught up row by row, and static changes (networks, cached, labels, a measured round trip)
patch their rows. A second property checks each plugin's per-row form (``row_filter``,
``row_score``) against its vector form on every row.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from edgewhisk_controller.placement import (
    Constraint,
    Constraints,
    Engine,
    InvokerState,
    PlacementConfig,
    PlacementRequest,
    Unschedulable,
)
from edgewhisk_controller.placement import constraints as c
from edgewhisk_controller.placement.plugin import (
    Context,
    Filter,
    Score,
    Sparse,
    prepared,
    row_filter_of,
    row_score_of,
)
from edgewhisk_controller.placement.state import View
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .reference import reference

KINDS = ("python:3", "nodejs:default")
CAPS = ("gpu", "tpu", "camera")
NETWORKS = ("home_u1", "home_u2", "company")
SITES = ("", "edge-a", "edge-b")
OWNERS = (None, "u1", "u2")
ARTIFACTS = ("u1/glucose", "base", "img")
NAMESPACES = ("guest", "team")

CONFIG = PlacementConfig(
    latency_ms={"edge-a|edge-b": 30.0, "|edge-a": 20.0}, site="",
    weights={c.BALANCED_LOAD: 1.5, c.WARM_CONTAINER: 2.0, c.PROXIMITY: 0.5},
)


def names(options: tuple[Any, ...], max_size: int | None = None) -> Any:
    return st.frozensets(st.sampled_from(options), max_size=max_size or len(options))


@st.composite
def invokers(draw: Any, i: int) -> InvokerState:
    memory = draw(st.sampled_from([128, 256, 512, 1024]))
    return InvokerState(
        id=f"inv{i}",
        kinds=draw(names(KINDS)),
        memory_mb=memory,
        free_memory_mb=draw(st.integers(0, memory)),
        in_flight=0,
        healthy=draw(st.booleans()),
        namespaces=draw(st.one_of(st.none(), names(NAMESPACES))),
        role=draw(st.sampled_from(["cloud", "edge"])),
        owner=draw(st.sampled_from(OWNERS)),
        site=draw(st.sampled_from(SITES)),
        labels=draw(st.dictionaries(st.sampled_from(["zone", "tier"]), st.sampled_from("ab"))),
        capabilities=draw(names(CAPS)),
        networks=draw(names(NETWORKS)),
        bandwidth_mbps=draw(st.sampled_from([1.0, 10.0, 100.0])),
        cached=draw(names(ARTIFACTS)),
        cpus=draw(st.sampled_from([1.0, 2.0])),
        battery=draw(st.sampled_from([None, 0.0, 0.25, 0.3, 0.8, 1.0])),
        charging=draw(st.sampled_from([None, False, True])),
        idle=draw(st.sampled_from([None, False, True])),
        metered=draw(st.sampled_from([None, False, True])),
    )


def constraint(draw: Any) -> Constraint:
    plugin = draw(st.sampled_from([
        c.NODE_SELECTOR, c.CAPABILITY, c.NETWORK_MEMBERSHIP, c.ARTIFACT_LOCALITY, c.PROXIMITY,
        c.DEADLINE_FEASIBILITY, c.WARM_CONTAINER, c.CACHED_ARTIFACT, c.BALANCED_LOAD,
        c.RUNTIME_KIND, c.NAMESPACE_ACCESS, c.RESOURCES_FIT, c.BATTERY_LEVEL, c.DEVICE_STATE,
    ]))
    artifacts = tuple(draw(st.lists(st.one_of(
        st.sampled_from(ARTIFACTS),
        st.tuples(st.sampled_from(ARTIFACTS), st.sampled_from([0, 10**6, 10**8]))),
        min_size=1, max_size=3)))
    args: dict[str, Any] = {
        c.NODE_SELECTOR: lambda: {"node": draw(st.sampled_from(
            ["inv0", "inv3", "edge", "cloud", "u1_device", "u3_device", "zone=a", "tier=b"]))},
        c.CAPABILITY: lambda: {"capabilities": tuple(draw(names(CAPS, 2)))},
        c.NETWORK_MEMBERSHIP: lambda: {"networks": tuple(draw(names(NETWORKS, 2)))},
        c.ARTIFACT_LOCALITY: lambda: {"artifacts": artifacts,
                                      "site": draw(st.sampled_from(SITES + (None,)))},
        c.PROXIMITY: lambda: {"site": draw(st.sampled_from(SITES + (None,)))},
        c.DEADLINE_FEASIBILITY: lambda: {"within_s": draw(st.sampled_from([0.05, 0.2, 1.0])),
                                         **({"artifacts": artifacts}
                                            if draw(st.booleans()) else {})},
        c.WARM_CONTAINER: lambda: {},
        c.CACHED_ARTIFACT: lambda: {"artifacts": artifacts},
        c.BALANCED_LOAD: lambda: {},
        c.RUNTIME_KIND: lambda: {"kind": draw(st.sampled_from(KINDS))},
        c.NAMESPACE_ACCESS: lambda: {"namespace": draw(st.sampled_from(NAMESPACES))},
        c.RESOURCES_FIT: lambda: {"memory_mb": draw(st.sampled_from([128, 512]))},
        c.BATTERY_LEVEL: lambda: {"op": draw(st.sampled_from(["<", "<=", ">", ">="])),
                                  "level": draw(st.sampled_from([0.0, 0.3, 0.5, 1.0]))},
        c.DEVICE_STATE: lambda: {"state": draw(st.sampled_from(c.DEVICE_STATES)),
                                 "value": draw(st.booleans())},
    }[plugin]()
    weight = draw(st.sampled_from([0.0, 0.5, 1.0, 3.0]))
    return Constraint(c.ARGS[plugin](**args), draw(st.booleans()), weight)


@st.composite
def scenarios(draw: Any) -> dict[str, Any]:
    n = draw(st.integers(0, 14))
    cluster = [draw(invokers(i)) for i in range(n)]
    bound = Constraints(tuple(constraint(draw) for _ in range(draw(st.integers(0, 6)))))
    request = PlacementRequest(
        action=f"{draw(st.sampled_from(NAMESPACES))}/act", kind=draw(st.sampled_from(KINDS)),
        memory_mb=draw(st.sampled_from([128, 256, 512])),
        namespace=draw(st.sampled_from(NAMESPACES)), version="0.0.1",
        site=draw(st.sampled_from(SITES + (None,))))
    events = draw(st.lists(st.tuples(
        st.sampled_from(["placed", "completed", "health", "networks", "cached", "unregister",
                         "register", "free", "labels", "rtt", "forget", "site", "context"]),
        st.integers(0, max(n - 1, 0)), st.booleans()), max_size=12))
    queue = draw(st.booleans())
    return {"cluster": cluster, "bound": bound, "request": request, "events": events,
            "queue": queue}


def apply(engine: Engine, event: tuple[str, int, bool], request: PlacementRequest) -> None:
    kind, i, flag = event
    ids = [id for id in engine.state.ids if id is not None]
    if kind == "register":
        engine.register(InvokerState(f"new{engine.state.static_version}", frozenset(KINDS),
                                     512, 512, 0, networks=frozenset({"company"})))
        return
    if not ids:
        return
    id = ids[i % len(ids)]
    if kind == "placed":
        engine.placed(id, request.memory_mb, request.key)
    elif kind == "completed":
        engine.completed(id, 128, request.key, 40.0 if flag else 400.0, flag)
    elif kind == "health":
        engine.heartbeat(id, healthy=flag)
    elif kind == "networks":
        engine.heartbeat(id, networks=frozenset({"home_u1"} if flag else set()))
    elif kind == "cached":
        engine.heartbeat(id, cached=frozenset({"base"} if flag else {"img", "u1/glucose"}))
    elif kind == "free":
        engine.heartbeat(id, free_memory_mb=64 if flag else 512)
    elif kind == "labels":
        engine.heartbeat(id, labels={"zone": "a"} if flag else {"tier": "b"})
    elif kind == "context":  # a device's report: unplugged and low, or plugged in at home
        engine.heartbeat(id, battery=0.2 if flag else 0.9, charging=not flag, idle=not flag,
                         metered=flag)
    elif kind == "site":
        engine.heartbeat(id, site="edge-b" if flag else "")
    elif kind == "rtt":
        engine.observe_rtt(id, 0.5 if flag else 80.0)
    elif kind == "forget":
        engine.forget_warm(id, request.key)
    elif kind == "unregister":
        engine.unregister(id)


def check(engine: Engine, request: PlacementRequest, bound: Constraints) -> None:
    check_decision(engine, request, bound, engine.place(request, bound))


def check_decision(engine: Engine, request: PlacementRequest, bound: Constraints,
                   decision: Any) -> None:
    """``decision`` is what the reference finds for ``bound`` on ``engine``'s state now."""
    expected = reference(engine, request, bound)
    if expected.best is None:
        assert isinstance(decision, Unschedulable), decision
        assert dict(decision.excluded) == expected.excluded
        assert decision.total == engine.state.count
        return
    assert isinstance(decision, str), decision.reason if isinstance(decision, Unschedulable) \
        else decision
    row = engine.state.index[decision]
    assert row in expected.scores, "the engine chose an invoker failing a hard constraint"
    best = expected.scores[expected.best]
    assert abs(expected.scores[row] - best) <= 1e-3 * max(1.0, abs(best)), (
        decision, expected.scores)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scenarios())
def test_the_engine_matches_the_brute_force_reference(scenario: dict[str, Any]) -> None:
    config = PlacementConfig(**{**CONFIG.__dict__, "queue_when_full": scenario["queue"]})
    engine = Engine(config)
    for state in scenario["cluster"]:
        engine.register(state)
    request, bound = scenario["request"], scenario["bound"]
    check(engine, request, bound)
    for event in scenario["events"]:
        apply(engine, event, request)
        check(engine, request, bound)


def dense(raw: np.ndarray | Sparse, size: int, bounds: tuple[float, float] | None,
          ) -> list[float]:
    """A raw score as one float per row (a ``Sparse`` one: its floor outside its positions)."""
    if isinstance(raw, Sparse):
        assert bounds is not None
        values = [bounds[0]] * size
        for at in raw.positions.tolist():
            values[at] = raw.value
        return values
    return [float(v) for v in raw]


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scenarios())
def test_each_plugins_per_row_form_matches_its_vector_form(scenario: dict[str, Any]) -> None:
    config = PlacementConfig(**{**CONFIG.__dict__, "queue_when_full": scenario["queue"]})
    engine = Engine(config)
    for state in scenario["cluster"]:
        engine.register(state)
    request = scenario["request"]
    for event in scenario["events"]:
        apply(engine, event, request)
    view = View(engine.state)
    for k in engine.constraints_for(request, scenario["bound"]):
        plugin = engine.plugins[k.plugin]
        ctx = prepared(plugin, Context(view, k.args, request.key))
        rows = range(engine.state.n)
        if isinstance(plugin, Filter):
            mask = plugin.filter(ctx)
            passes = row_filter_of(plugin, ctx)
            assert [passes(r, r) for r in rows] == [bool(m) for m in mask], k
        if isinstance(plugin, Score):
            wanted = dense(plugin.score(ctx), engine.state.n, plugin.BOUNDS)
            scores = row_score_of(plugin, ctx)
            got = [scores(r, r) for r in rows]
            assert np.allclose(got, wanted, rtol=1e-5, atol=1e-6), (k, got, wanted)
