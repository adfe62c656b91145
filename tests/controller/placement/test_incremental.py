"""What the engine learns between placements without rebuilding its cached entries.

A heartbeat changing one invoker's static attributes patches that row of every cached entry;
a measured tunnel round trip steers Proximity; a warm container the pool evicted is
forgotten. Each case runs a real engine and checks the decision and that the entry placed
from is still the same object (patched, not rebuilt).
"""

from __future__ import annotations

from edgewhisk_controller.placement import PlacementConfig, PlacementRequest, Unschedulable
from edgewhisk_controller.placement import constraints as c

from .cluster import engine_of, given, hard, inv, soft

REQUEST = PlacementRequest("guest/a", "python:3", 256, "guest", version="0.0.1")


def test_a_changed_label_patches_the_row_of_every_cached_entry_without_rebuilding() -> None:
    engine = engine_of([inv(f"i{n}", labels={"tier": "x"} if n < 4 else {}) for n in range(8)])
    prefer = given(soft(c.NODE_SELECTOR, 5.0, node="zone=a"))
    other = PlacementRequest("guest/b", "python:3", 128, "guest", version="2")
    only_x = given(hard(c.NODE_SELECTOR, node="tier=x"), soft(c.NODE_SELECTOR, 5.0, node="zone=a"))
    assert (engine.place(REQUEST, prefer), engine.place(other, only_x)) == ("i0", "i0")
    entries = list(engine.cache.entries.values())
    engine.heartbeat("i5", labels={"zone": "a", "tier": "x"})  # a candidate of both, preferred
    assert (engine.place(REQUEST, prefer), engine.place(other, only_x)) == ("i5", "i5")
    engine.heartbeat("i5", labels={"zone": "a"})  # no longer passes the hard tier=x
    assert (engine.place(REQUEST, prefer), engine.place(other, only_x)) == ("i5", "i0")
    assert [id(e) for e in engine.cache.entries.values()] == [id(e) for e in entries]
    assert all(e.rows is None and e.version == engine.state.static_version for e in entries)


def test_a_row_leaving_and_rejoining_a_selective_entry_is_patched() -> None:
    engine = engine_of([inv(f"i{n}", networks={"home"} if n in (3, 9) else set())
                        for n in range(40)])
    bound = given(hard(c.NETWORK_MEMBERSHIP, networks=("home",)))
    assert engine.place(REQUEST, bound) == "i3"
    (entry,) = engine.cache.entries.values()
    assert entry.rows is not None and list(entry.rows) == [3, 9]
    engine.heartbeat("i3", networks=frozenset())
    assert engine.place(REQUEST, bound) == "i9"
    engine.heartbeat("i9", networks=frozenset())
    assert isinstance(engine.place(REQUEST, bound), Unschedulable)
    engine.heartbeat("i3", networks=frozenset({"home"}))
    assert engine.place(REQUEST, bound) == "i3"
    assert next(iter(engine.cache.entries.values())) is entry


def test_a_new_candidate_outside_the_kept_rows_rebuilds_that_entry() -> None:
    engine = engine_of([inv(f"i{n}", networks={"home"} if n == 9 else set())
                        for n in range(40)])
    bound = given(hard(c.NETWORK_MEMBERSHIP, networks=("home",)))
    assert engine.place(REQUEST, bound) == "i9"
    engine.heartbeat("i2", networks=frozenset({"home"}))
    assert engine.place(REQUEST, bound) == "i2"


def test_a_measured_round_trip_steers_proximity_from_the_controller_site() -> None:
    config = PlacementConfig(site="hq", same_site_ms=10.0, default_latency_ms=50.0)
    engine = engine_of([inv("c", site="hq"), inv("a", site="hq"), inv("b", site="far")],
                       config)
    assert engine.place(REQUEST) == "c"  # c and a tie at 10 ms: the lowest row
    (entry,) = engine.cache.entries.values()
    engine.observe_rtt("c", 20.0)  # measured: farther than its site says
    assert engine.place(REQUEST) == "a"
    assert next(iter(engine.cache.entries.values())) is entry  # patched, not rebuilt
    engine.observe_rtt("b", 1.0)  # the far site's invoker is in fact the nearest
    assert engine.place(REQUEST) == "b"


def test_round_trips_within_the_resolution_tie_on_proximity() -> None:
    """0.4 ms against 1.6 ms is loopback jitter, not distance: min-max normalisation must not
    turn it into 100 against 0 points (the other plugins decide, here the lowest row)."""
    config = PlacementConfig(site="hq", same_site_ms=10.0)
    engine = engine_of([inv("a", site="hq"), inv("b", site="hq")], config)
    engine.observe_rtt("a", 1.6)
    engine.observe_rtt("b", 0.4)
    assert engine.place(REQUEST) == "a"
    engine.observe_rtt("b", 0.4)
    engine.observe_rtt("a", 30.0)
    engine.observe_rtt("a", 30.0)
    assert engine.place(REQUEST) == "b"


def test_round_trip_jitter_within_a_step_touches_no_entry() -> None:
    engine = engine_of([inv("a")])
    engine.observe_rtt("a", 10.0)
    restated = engine.state.restated.seq
    for rtt in (10.5, 9.6, 10.2, 10.9):
        engine.observe_rtt("a", rtt)
    assert engine.state.restated.seq == restated
    engine.observe_rtt("a", 40.0)
    assert engine.state.restated.seq == restated + 1


def test_a_round_trip_of_an_unknown_invoker_is_ignored() -> None:
    engine = engine_of([inv("a")])
    engine.observe_rtt("gone", 3.0)
    assert engine.place(REQUEST) == "a"


def test_a_warm_container_the_pool_evicted_is_forgotten() -> None:
    engine = engine_of([inv("a"), inv("b")])
    engine.placed("b", 128, REQUEST.key)
    engine.completed("b", 128, REQUEST.key, 30.0, warm=True)
    assert engine.place(REQUEST) == "b"
    engine.forget_warm("b", REQUEST.key)
    assert engine.place(REQUEST) == "a"
    engine.forget_warm("gone", REQUEST.key)  # unregistered meanwhile: ignored
