"""DeadlineFeasibility: queue + transfer + observed run time against the deadline."""

from __future__ import annotations

import pytest
from edgewhisk_controller.placement import PlacementConfig

from ..cluster import engine_of, inv, passing, scores

KEY = "guest/a@0.0.1"
CONFIG = PlacementConfig(default_run_ms=100.0, run_ewma_alpha=0.5)


def busy_cluster():  # type: ignore[no-untyped-def]
    engine = engine_of([inv("idle"), inv("busy"), inv("dual", cpus=2.0),
                        inv("far", bandwidth_mbps=8.0)], CONFIG)
    for id in ("busy", "busy", "dual", "dual"):
        engine.placed(id, 128, KEY)  # 100 ms each until observed
    return engine


CASES = [
    pytest.param({"within_s": 0.15}, ["idle", "far"], id="queued work makes the busy miss it"),
    pytest.param({"within_s": 0.2}, ["idle", "dual", "far"],
                 id="two cpus halve the queue"),
    pytest.param({"within_s": 0.15, "artifacts": (("base", 10**5),)}, ["idle"],
                 id="a slow link's transfer counts"),
    pytest.param({"within_s": 0.05}, [], id="the run alone is longer than the deadline"),
]


@pytest.mark.parametrize("args, expected", CASES)
def test_deadline_filter(args: dict, expected: list[str]) -> None:
    assert passing("DeadlineFeasibility", [], args, engine=busy_cluster(), action=KEY) == expected


def test_deadline_scores_the_slack() -> None:
    engine = busy_cluster()
    assert scores("DeadlineFeasibility", [], {"within_s": 0.4}, engine=engine,
                  action=KEY) == [75, 25, 50, 75]


def test_observed_run_times_replace_the_default() -> None:
    engine = engine_of([inv("a")], CONFIG)
    engine.completed("a", 0, KEY, 20.0, True)  # first observation: 20 ms
    assert passing("DeadlineFeasibility", [], {"within_s": 0.03}, engine=engine,
                   action=KEY) == ["a"]
    engine.completed("a", 0, KEY, 60.0, True)  # EWMA 0.5: 40 ms
    assert passing("DeadlineFeasibility", [], {"within_s": 0.03}, engine=engine,
                   action=KEY) == []
