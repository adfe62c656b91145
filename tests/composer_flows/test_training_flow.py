"""Pipeline 1, ``composer_flows/training.js``: prepare -> train -> validate -> push -> serve,
compiled by Composer's ``compose``, deployed by its ``deploy``, run by the controller on real
agents.

Each step is placed by its own action's policy (prepare, train and validate on the cloud node,
push preferably there, serve on the edge device), hands the next one artifacts through the
registry; the promoted version is the current one and is preloaded to the edge devices before
serve asks for it; the
validator gate is the platform's: a model trained on broken labels is held back (``gated``),
the flow stops with an error naming it, nothing is served, and the previous version stays
the current one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from controller.api.harness import Controller
from edgewhisk_devkit import Redis

from .conftest import CLOUD, EDGE, FLOWS, STEPS, copies_once_reported, deploy, note, steps, timeline

ROWS = [[0.5, 0.5], [-1.0, -1.0]]  # one row of each class (blobs: x0 + x1/2 > 0 is class 1)


@pytest.fixture(scope="module")
def training(pipelines: Controller, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[Controller]:
    deploy(pipelines, "training", FLOWS / "training.js", tmp_path_factory.mktemp("training"))
    yield pipelines


def test_a_good_model_is_validated_promoted_and_served_on_the_edge(
    training: Controller, redis: Redis, timelines: Path
) -> None:
    with training.client() as client:
        done = client.actions.invoke("training", {"dataset": "t1", "rows": ROWS}, wait_s=120)
        assert done.success, done.record
        ran = steps(client, done.record)
        model = client.artifacts.get("t1/model@1")
        copies = copies_once_reported(client, "t1/model@1", [EDGE, "cloud"])
        current = client.artifacts.get("t1/model")
        timeline(client, done.record, (*STEPS, "push"), timelines, "training")
    assert [(s.name, s.invoker) for s in ran] == [
        ("prepare", CLOUD), ("train", CLOUD), ("validate", CLOUD), ("push", CLOUD),
        ("serve", EDGE)]
    result = done.result
    assert result["promoted"] is True
    # promoted: the current version, preloaded to every edge device (the default selector)
    assert current["version"] == model["version"] == 1
    assert result["pushed"] == [{"invoker": EDGE, "status": "preloaded", "reason": None}]
    assert result["model"] == {"key": "guest/t1/model@1", "version": 1, "status": "ok"}
    assert result["accuracy"] == ran[2].result["accuracy"] >= 0.8
    assert ran[3].result["artifact"] == "guest/t1/model@1"
    high, low = result["served"]
    assert high > 0.5 > low
    # validate's gate judged the model it produced and did not fire
    (verdict,) = note(ran[2].record, "gates")
    assert (verdict["metric"], verdict["value"], verdict["fired"]) == (
        "accuracy", result["accuracy"], False)
    # the model travelled to the device that served it; its lineage is the flow's artifacts
    assert model["status"] == "ok" and EDGE in copies and "cloud" in copies
    assert model["lineage"] == {"model": "guest/t1/candidate-0@1", "data": ["guest/t1/test@1"]}
    assert redis.keys() == []


def test_a_bad_model_stops_the_flow_at_the_gate_and_is_not_promoted(
    training: Controller, timelines: Path
) -> None:
    with training.client() as client:
        first = client.actions.invoke("training", {"dataset": "t2"}, wait_s=120)
        assert first.success, first.record
        done = client.actions.invoke("training", {"dataset": "t2", "label_noise": 1},
                                     wait_s=120)
        ran = steps(client, done.record)
        held = client.artifacts.get("t2/model@2")
        timeline(client, done.record, STEPS, timelines, "training-gated")
        current = client.artifacts.get("t2/model")
    assert not done.success
    assert [s.name for s in ran] == ["prepare", "train", "validate"]  # serve never ran
    accuracy = ran[2].result["accuracy"]
    assert accuracy < 0.8
    assert done.result == {"error": f"guest/t2/model@2 held back by validate's gate (accuracy "
                                    f"{accuracy} on the test set): not promoted, not served"}
    (verdict,) = note(ran[2].record, "gates")
    assert verdict["fired"] is True and verdict["held"] is True
    assert held["status"] == "gated"
    assert current["version"] == 1  # the previous model stays the current one


def test_a_flow_without_a_dataset_fails_naming_it_and_registers_nothing(
    training: Controller
) -> None:
    with training.client() as client:
        before = client.artifacts.list(limit=200)
        done = client.actions.invoke("training", {}, wait_s=120)
        after = client.artifacts.list(limit=200)
    assert not done.success
    # prepare refused by the platform's variable binding, before anything ran
    assert done.result["error"].startswith("Cannot bind the variable {dataset}: "), done.result
    assert after == before
