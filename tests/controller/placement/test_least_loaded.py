"""LeastLoaded: hard constraints filter, then fewest in flight, most free memory, smallest id."""

from __future__ import annotations

import pytest
from edgewhisk_controller.placement import (
    InvokerState,
    LeastLoaded,
    PlacementRequest,
    Unschedulable,
)

PY = frozenset({"python:3"})
REQUEST = PlacementRequest(action="guest/a", kind="python:3", memory_mb=256, namespace="guest")


def inv(id: str, *, kinds: frozenset[str] = PY, memory: int = 1024, free: int = 1024,
        in_flight: int = 0, healthy: bool = True,
        namespaces: frozenset[str] | None = None) -> InvokerState:
    return InvokerState(id, kinds, memory, free, in_flight, healthy, namespaces)


CHOICES = [
    pytest.param([inv("b"), inv("a")], "a", id="ties go to the smallest id"),
    pytest.param([inv("a", in_flight=2), inv("b", in_flight=1)], "b",
                 id="fewer activations in flight wins"),
    pytest.param([inv("a", free=256), inv("b", free=512)], "b",
                 id="with equal load, more free memory wins"),
    pytest.param([inv("a", in_flight=0, free=0), inv("b", in_flight=1, free=1024)], "a",
                 id="load counts before free memory (a full pool queues or evicts)"),
    pytest.param([inv("a", healthy=False), inv("b", in_flight=9)], "b",
                 id="an unhealthy invoker is never chosen"),
    pytest.param([inv("a", kinds=frozenset({"blackbox"})), inv("b", in_flight=3)], "b",
                 id="an invoker without the kind is never chosen"),
    pytest.param([inv("a", memory=128), inv("b", in_flight=3)], "b",
                 id="an invoker smaller than the action is never chosen"),
    pytest.param([inv("a", namespaces=frozenset({"other"})), inv("b", in_flight=3)], "b",
                 id="an invoker not serving the namespace is never chosen"),
    pytest.param([inv("a", namespaces=frozenset({"guest"})), inv("b")], "a",
                 id="an invoker serving the namespace may be chosen"),
]


@pytest.mark.parametrize("invokers, chosen", CHOICES)
def test_least_loaded_chooses(invokers: list[InvokerState], chosen: str) -> None:
    assert LeastLoaded().choose(REQUEST, invokers) == chosen


REFUSALS = [
    pytest.param([], "0/0 invokers are available: no invoker is registered.",
                 id="no invoker at all"),
    pytest.param([inv("a", healthy=False), inv("b", kinds=frozenset({"blackbox"})),
                  inv("c", kinds=frozenset({"blackbox"})), inv("d", memory=128)],
                 "0/4 invokers are available: 1 unhealthy, 2 without kind 'python:3', "
                 "1 with too little memory (needs 256 MB).",
                 id="each invoker counts under the first constraint it fails"),
    pytest.param([inv("a", namespaces=frozenset())],
                 "0/1 invokers are available: 1 not serving namespace 'guest'.",
                 id="a namespace restriction is named"),
]


@pytest.mark.parametrize("invokers, reason", REFUSALS)
def test_least_loaded_explains_why_nothing_fits(invokers: list[InvokerState],
                                                 reason: str) -> None:
    decision = LeastLoaded().choose(REQUEST, invokers)
    assert isinstance(decision, Unschedulable)
    assert decision.reason == reason
