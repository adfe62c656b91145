"""Why it ran there: ``Engine.why`` takes a decision apart, and the parts match the engine's."""

from __future__ import annotations

import json

import pytest
from edgewhisk_controller.placement import PlacementRequest, explain
from edgewhisk_controller.placement import constraints as c

from .cluster import engine_of, given, hard, inv, scores, soft

REQUEST = PlacementRequest("guest/a", "python:3", 256, "guest", version="0.0.1")
FLEET = [inv("cloud", networks={"dc"}), inv("gpu-box", caps={"gpu"}),
         inv("phone", caps={"gpu"}, networks={"home"}, in_flight=1, free=512),
         inv("down", healthy=False), inv("tiny", memory=128)]
PREFERS = given(soft(c.CAPABILITY, weight=2.0, capabilities=("gpu",)),
                soft(c.NETWORK_MEMBERSHIP, weight=1.0, networks=("home",)))


def total_of(engine: object, request: PlacementRequest, bound: object, id: str) -> float:
    """The engine's own total for invoker ``id`` in the entry the decision used."""
    entry = engine.cache.get(engine.key(request, bound))  # type: ignore[attr-defined]
    row = engine.state.index[id]  # type: ignore[attr-defined]
    at = row if entry.rows is None else list(entry.rows).index(row)
    return float(entry.total[at])


def test_the_winners_terms_add_up_to_its_total_and_the_runner_up_is_second_best() -> None:
    engine = engine_of(FLEET)
    chosen = engine.place(REQUEST, PREFERS)
    why = engine.why(REQUEST, chosen, PREFERS)
    assert why is not None and why["invoker"] == chosen == "phone"
    assert why["score"] == pytest.approx(total_of(engine, REQUEST, PREFERS, "phone"), abs=0.01)
    assert why["runnerUp"]["invoker"] == "gpu-box"
    assert why["runnerUp"]["score"] == pytest.approx(
        total_of(engine, REQUEST, PREFERS, "gpu-box"), abs=0.01)
    assert why["score"] > why["runnerUp"]["score"]
    assert (why["candidates"], why["of"]) == (3, 5)
    assert why["excluded"] == {"unhealthy": 1, "with too little memory (needs 256 MB)": 1}


def test_each_term_is_its_plugins_weighted_share() -> None:
    engine = engine_of(FLEET)
    chosen = engine.place(REQUEST, PREFERS)
    why = engine.why(REQUEST, chosen, PREFERS)
    assert why is not None
    by_plugin = {t["plugin"]: t for t in why["terms"]}
    network = scores(c.NETWORK_MEMBERSHIP, FLEET, {"networks": ("home",)})
    assert by_plugin[c.NETWORK_MEMBERSHIP]["score"] == pytest.approx(1.0 * network[2], abs=0.01)
    assert by_plugin[c.NETWORK_MEMBERSHIP]["runnerUp"] == pytest.approx(1.0 * network[1],
                                                                        abs=0.01)
    assert c.CAPABILITY not in by_plugin  # both have the gpu: it decided nothing between them
    decisive = [abs(t["score"] - t["runnerUp"]) for t in why["terms"]]
    assert decisive == sorted(decisive, reverse=True) and all(decisive)


def test_the_explanation_is_compact() -> None:
    engine = engine_of(FLEET)
    chosen = engine.place(REQUEST, PREFERS)
    assert len(json.dumps(engine.why(REQUEST, chosen, PREFERS))) < 600


def test_a_lone_candidate_has_no_runner_up_and_lists_its_own_terms() -> None:
    engine = engine_of(FLEET)
    only_gpu_at_home = given(hard(c.NETWORK_MEMBERSHIP, networks=("home",)))
    chosen = engine.place(REQUEST, only_gpu_at_home)
    why = engine.why(REQUEST, chosen, only_gpu_at_home)
    assert why is not None and why["invoker"] == "phone" and "runnerUp" not in why
    assert sum(t["score"] for t in why["terms"]) == pytest.approx(why["score"], abs=0.05)
    assert why["excluded"]["not in network home"] == 2


def test_a_decision_no_longer_in_the_cache_has_no_explanation() -> None:
    engine = engine_of(FLEET)
    assert engine.why(REQUEST, "cloud", PREFERS) is None  # never placed: no entry


def test_exclusions_follow_a_joining_invoker_at_once() -> None:
    """Counts are shared by an entry's explanations for up to EXCLUDED_TTL_S, but an invoker
    that joins or leaves rebuilds the entry, and its counts with it."""
    engine = engine_of(FLEET)
    engine.why(REQUEST, engine.place(REQUEST, PREFERS), PREFERS)
    engine.register(inv("down-2", healthy=False))
    why = engine.why(REQUEST, engine.place(REQUEST, PREFERS), PREFERS)
    assert why is not None and why["excluded"]["unhealthy"] == 2 and why["of"] == 6


def test_a_repeated_decision_reuses_its_explanation_and_a_changed_one_follows_the_engine(
        ) -> None:
    """Explanations are kept by the numbers they are made of (``Entry.said``): the same
    numbers give the same document, new numbers (the phone busier) a new one that matches
    the engine's totals again."""
    engine = engine_of(FLEET)
    first = engine.why(REQUEST, engine.place(REQUEST, PREFERS), PREFERS)
    again = engine.why(REQUEST, engine.place(REQUEST, PREFERS), PREFERS)
    assert first is not None and again is first
    engine.placed("phone", 256, REQUEST.key)  # one more activation in flight on it
    chosen = engine.place(REQUEST, PREFERS)
    busier = engine.why(REQUEST, chosen, PREFERS)
    assert busier is not None and busier is not first and busier != first
    assert busier["score"] == pytest.approx(total_of(engine, REQUEST, PREFERS, chosen),
                                            abs=0.01)


def test_an_entry_keeps_at_most_said_explanations() -> None:
    engine = engine_of(FLEET)
    said = set()
    for _ in range(explain.SAID * 2):
        engine.placed("phone", 1, REQUEST.key)  # the phone busier each time
        chosen = engine.place(REQUEST, PREFERS)
        why = engine.why(REQUEST, chosen, PREFERS)
        assert why is not None and why["score"] == pytest.approx(
            total_of(engine, REQUEST, PREFERS, chosen), abs=0.01)
        said.add(json.dumps(why))
    entry = engine.cache.get(engine.key(REQUEST, PREFERS))
    assert len(said) > explain.SAID  # more than it keeps: some were forgotten
    assert entry is not None and 0 < len(entry.said) <= explain.SAID
