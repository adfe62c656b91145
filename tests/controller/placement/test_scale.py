"""Scale: 100 tenants x 1,000 invokers held at once, in under 200 MB.

One cluster serves both checks (building 100,000 invokers is the slow part): its memory is
measured with tracemalloc (numpy reports its buffers to it, so columns, member sets and
every Python object the state holds count), then each tenant places twice and must only
ever land on its own invokers.
"""

from __future__ import annotations

import gc
import tracemalloc

from edgewhisk_controller.placement import (
    Engine,
    InvokerState,
    PlacementRequest,
    Unschedulable,
)
from edgewhisk_controller.placement import constraints as c

from .cluster import given, hard

PY = frozenset({"python:3"})
TENANTS = 100
PER_TENANT = 1_000
LIMIT_BYTES = 200 * 1024 * 1024


def tenant_cluster() -> Engine:
    engine = Engine()
    for t in range(TENANTS):
        namespace = frozenset({f"tenant{t}"})
        for i in range(PER_TENANT):
            engine.register(InvokerState(
                f"t{t}-{i}", PY, 2048, 2048 - (i % 7) * 128, 0, namespaces=namespace,
                role="edge" if i % 2 else "cloud", owner=f"user{t}-{i % 100}",
                site=f"site{i % 10}", networks=frozenset({f"home_{t}_{i % 100}"}),
                capabilities=frozenset({"gpu"}) if i % 10 == 0 else frozenset()))
    return engine


def test_100_tenants_with_1000_invokers_each_fit_in_200_mb_and_see_only_their_own() -> None:
    gc.collect()
    tracemalloc.start()
    try:
        engine = tenant_cluster()
        first = engine.place(PlacementRequest("tenant3/a", "python:3", 256, "tenant3"),
                             given(hard(c.NETWORK_MEMBERSHIP, networks=("home_3_42",))))
        gc.collect()
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert held < LIMIT_BYTES, f"{held / 2**20:.0f} MB"
    assert first == "t3-42"
    assert engine.state.count == TENANTS * PER_TENANT
    gpu = given(hard(c.CAPABILITY, capabilities="gpu"))
    for t in range(TENANTS):
        request = PlacementRequest(f"tenant{t}/act", "python:3", 256, f"tenant{t}")
        for bound in (given(), gpu):
            decision = engine.place(request, bound)
            assert isinstance(decision, str) and decision.startswith(f"t{t}-"), decision
            engine.placed(decision, 256, request.key)
        assert engine.owners(f"tenant{t}") == sorted(f"user{t}-{u}" for u in range(100))
    stranger = engine.place(PlacementRequest("nobody/act", "python:3", 256, "nobody"))
    assert isinstance(stranger, Unschedulable)
    assert stranger.reason == ("0/100000 invokers are available: "
                               "100000 not serving namespace 'nobody'.")
