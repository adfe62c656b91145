"""Pipeline 2, ``composer_flows/extended.js``: prepare -> features -> a sweep with Composer's
``map`` (one ``train`` per configuration, in parallel, joined in Redis) -> the best by
validation accuracy -> validate (the gate) -> push (preload) -> serve, on the fleet of pipeline 1.

The sweep's branches are real parallel compositions: their ``train`` activations overlap in
time, the joined results come back in the order of the configurations, and Redis holds no key
afterwards. A configuration that fails is reported in the sweep and left out of the choice;
a sweep where nothing trained stops the flow, naming why, before anything is validated.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from controller.api.harness import Client, Controller
from edgewhisk_devkit import Redis

from .conftest import CLOUD, EDGE, FLOWS, STEPS, deploy, steps, timeline

ROWS = [[0.0, 0.0], [2.0, 2.0]]  # inside the ring (class 1), outside it (class 0)
CONFIGS = [{"lr": 0.05, "epochs": 50, "l2": 0.0}, {"lr": 0.5, "epochs": 200, "l2": 0.0},
           {"lr": 0.5, "epochs": 200, "l2": 0.1}, {"lr": 2.0, "epochs": 300, "l2": 0.0}]


@pytest.fixture(scope="module")
def extended(pipelines: Controller, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[Controller]:
    deploy(pipelines, "extended", FLOWS / "extended.js", tmp_path_factory.mktemp("extended"))
    yield pipelines


def _run(client: Client, params: dict[str, Any]) -> tuple[Any, list[dict[str, Any]]]:
    """The flow's record, and the ``train`` activations its sweep ran (by start time)."""
    done = client.actions.invoke("extended", params, wait_s=180)
    trains = client.activations.list(name="train", since=done.record["start"], limit=50)
    return done, sorted(trains, key=lambda r: r["start"])


def _overlapping(records: list[dict[str, Any]]) -> bool:
    """Whether any activation (sorted by start) started before an earlier one ended."""
    ended = records[0]["end"]
    for record in records[1:]:
        if record["start"] < ended:
            return True
        ended = max(ended, record["end"])
    return False


def test_the_sweep_trains_in_parallel_and_the_best_configuration_is_served(
    extended: Controller, redis: Redis, timelines: Path
) -> None:
    with extended.client() as client:
        done, trains = _run(client, {"dataset": "x1", "configs": CONFIGS, "rows": ROWS})
        assert done.success, done.record
        ran = steps(client, done.record)
        timeline(client, done.record, (*STEPS, "push"), timelines, "extended")
    result = done.result
    assert [(s.name, s.invoker) for s in ran] == [
        ("prepare", CLOUD), ("features", CLOUD), ("validate", CLOUD), ("push", CLOUD),
        ("serve", EDGE)]
    # the sweep: one train per configuration, results in the configurations' order
    assert [t["config"] for t in result["sweep"]] == CONFIGS
    assert [t["trial"] for t in result["sweep"]] == ["0", "1", "2", "3"]
    scores = {t["trial"]: t["val_accuracy"] for t in result["sweep"]}
    assert result["best"] == max(scores, key=scores.__getitem__)
    assert len(trains) == len(CONFIGS)
    assert _overlapping(trains), "the sweep's train activations ran one after another"
    # the best candidate went through the gate and was served on the edge device
    assert ran[2].result["trial"] == result["best"]
    assert result["features"] == "x1-poly"
    assert result["model"] == {"key": "guest/x1-poly/model@1", "version": 1, "status": "ok"}
    assert result["pushed"] == [{"invoker": EDGE, "status": "preloaded", "reason": None}]
    inside, outside = result["served"]
    assert inside > 0.5 > outside  # the ring needs the derived features: they were applied
    assert redis.keys() == []


def test_a_failing_configuration_is_reported_and_left_out_of_the_choice(
    extended: Controller, redis: Redis
) -> None:
    configs = [CONFIGS[1], {"lr": 0.5, "epochs": "many"}]
    with extended.client() as client:
        done, _ = _run(client, {"dataset": "x2", "configs": configs, "rows": ROWS})
    assert done.success, done.record
    first, failed = done.result["sweep"]
    assert first["trial"] == "0" and done.result["best"] == "0"
    assert "invalid literal for int() with base 10: 'many'" in failed["error"], failed
    assert redis.keys() == []


def test_a_sweep_where_nothing_trained_stops_the_flow_before_validate(
    extended: Controller
) -> None:
    with extended.client() as client:
        done, trains = _run(client, {"dataset": "x3", "configs": []})
        ran = steps(client, done.record)
    assert not done.success
    assert done.result == {"error": "no configuration of the sweep trained: []"}
    assert [s.name for s in ran] == ["prepare", "features"] and trains == []
