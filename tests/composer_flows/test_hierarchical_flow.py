"""Pipeline 3, ``composer_flows/hierarchical.js``: the personal assistant as one composition.
train_base on the cloud node, then Composer's ``map`` over the users: on each user's own
device collect, refine (the per-user validation gate), predict; the per-user results joined.

The fleet is the demo's for two users (a cloud node and ``u1-phone``, ``u2-phone``; an
edge-only controller with ``--composer-redis``). What the test checks: each step's invoker
(cloud for the base, each user's device for the user's steps), both users' branches running
at the same time, every user's readings written only to that user's device store (the access
logs of the blob store and every node store), the joined result, and Redis empty afterwards.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from controller.api.harness import Controller
from edgewhisk_cli.action import python_action
from edgewhisk_cli.demo.artifacts import holders
from edgewhisk_cli.demo.fleet import CLOUD, nodes_for
from edgewhisk_controller.config import ControllerConfig
from edgewhisk_devkit import Fleet, Redis

from .conftest import FLOWS, ROOT, deploy, note, timeline

pytestmark = pytest.mark.mxnet  # the personal-assistant actions run MXNet

EXAMPLES = ROOT / "actions" / "examples" / "personal_assistant"
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))

import glucose  # noqa: E402

USERS = ["u1", "u2"]
ACTIONS = ("collect", "train_base", "refine", "predict")
LIMITS = {"timeout": 120_000, "memory": 256}


@pytest.fixture(scope="module")
def assistant(redis: Redis, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[tuple[Controller, Path]]:
    """The demo's fleet for u1 and u2, the four actions and the flow deployed; yields the
    controller and the folder of the stores and the controller's data."""
    root = tmp_path_factory.mktemp("hierarchical")
    nodes = [n.spec for n in nodes_for(USERS)]
    with Controller(root / "data", "--invokers", "0", "--composer-redis", redis.uri) as ctl, \
            ctl.client() as client, Fleet(client, nodes, root, stores=root / "stores"):
        for action in ACTIONS:
            document = python_action(action, EXAMPLES / f"{action}.py",
                                     [EXAMPLES / "glucose.py"], LIMITS)
            response = client.request("PUT", f"actions/{action}?overwrite=true", json=document)
            assert response.status_code == 200, response.text
        deploy(ctl, "hierarchical", FLOWS / "hierarchical.js", root)
        yield ctl, root


def _steps_by_user(client: Any, since: int) -> dict[str, list[dict[str, Any]]]:
    """The records of the actions since ``since`` by the user their result names (collect,
    refine and predict answer ``usr``), train_base's under ``cloud``."""
    found: dict[str, list[dict[str, Any]]] = {}
    for name in ACTIONS:
        for brief in client.activations.list(name=name, since=since, limit=20):
            record = client.activations.get(brief["activationId"])
            usr = record["response"]["result"].get("usr") or "cloud"
            found.setdefault(str(usr), []).append(record)
    return found


def _invoke(controller: Controller, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The flow's record and its steps by user (``_steps_by_user``)."""
    with controller.client() as client:
        done = client.actions.invoke("hierarchical", params, wait_s=300)
        return done, _steps_by_user(client, done.record["start"])


def test_the_base_is_trained_in_the_cloud_and_refined_on_each_user_s_device(
    assistant: tuple[Controller, Path], redis: Redis, timelines: Path
) -> None:
    controller, root = assistant
    held_out = glucose.split(glucose.user_readings("u1", 300))[1]
    readings = glucose.as_dicts(held_out["X"][-3:])
    done, by_user = _invoke(controller, {"users": USERS, "readings": readings, "collect": 300,
                                         "samples": 2000, "epochs": 8})
    assert done.success, done.record
    with controller.client() as client:
        registry = client.artifacts.list(limit=200)
        timeline(client, done.record, ACTIONS, timelines, "hierarchical")
    result = done.result
    assert result["base"]["key"] == "guest/glucose-base@1"
    assert [u["usr"] for u in result["users"]] == USERS  # joined in the input's order
    for entry in result["users"]:
        assert entry["refined"]["model"]["status"] == "ok"
        assert entry["refined"]["model"]["key"] == f"guest/{entry['usr']}/glucose-model@1"
        assert len(entry["prediction"]["predictions"]) == len(readings)
    # where each step ran: the base in the cloud, every user's steps on that user's device
    assert [note(r, "invoker") for r in by_user["cloud"]] == [CLOUD]
    for usr in USERS:
        names = sorted(r["name"] for r in by_user[usr])
        assert names == ["collect", "predict", "refine"], names
        assert {note(r, "invoker") for r in by_user[usr]} == {f"{usr}-phone"}
    # the users' branches ran at the same time: each user's refine overlapped the other's
    (r1,), (r2,) = ([r for r in by_user[u] if r["name"] == "refine"] for u in USERS)
    assert r1["start"] < r2["end"] and r2["start"] < r1["end"]
    # each user's readings were written only into that user's device store
    logs = {"blob-store": ControllerConfig(data=root / "data").blobs_log,
            **{f"{u}-phone": root / "stores" / f"{u}-phone" / "access.log" for u in USERS},
            CLOUD: root / "stores" / CLOUD / "access.log"}
    written = holders(logs)
    for usr in USERS:
        (doc,) = [d for d in registry if d["name"] == f"{usr}/glucose"]
        assert written[doc["sha256"]] == {f"{usr}-phone"}, (usr, written[doc["sha256"]])
    assert redis.keys() == []


def test_a_user_whose_refined_model_the_gate_holds_back_is_not_served_the_others_are(
    assistant: tuple[Controller, Path], redis: Redis
) -> None:
    """u2's device records a skewed sample: refine's bias gate holds u2's new model back and
    u2's branch ends with an error in its place; u1's branch is served as before."""
    controller, _ = assistant
    readings = glucose.as_dicts(glucose.user_readings("u1", 20)["X"][-2:])
    done, by_user = _invoke(controller, {"users": USERS, "readings": readings, "collect": 300,
                                         "skewed": ["u2"]})
    assert done.success, done.record
    first, second = done.result["users"]
    assert first["usr"] == "u1" and first["refined"]["model"]["status"] == "ok"
    (refine,) = [r for r in by_user["u2"] if r["name"] == "refine"]
    (verdict,) = note(refine, "gates")
    assert verdict["fired"] and verdict["held"]
    key = verdict["version"]
    assert second == {"error": f"u2: {key} held back by refine's gate (bias ratio "
                               f"{verdict['value']}): not served"}
    assert sorted(r["name"] for r in by_user["u2"]) == ["collect", "refine"]  # no predict
    assert redis.keys() == []


def test_a_flow_without_users_is_refused_before_anything_runs(
    assistant: tuple[Controller, Path]
) -> None:
    controller, _ = assistant
    with controller.client() as client:
        before = client.activations.list(name="train_base", limit=50)
        done = client.actions.invoke("hierarchical", {"readings": []}, wait_s=60)
        after = client.activations.list(name="train_base", limit=50)
    assert not done.success
    assert done.result == {"error": 'hierarchical: name the users to refine for, e.g. '
                                    '{"users": ["u1", "u2"], "readings": [...]}'}
    assert len(after) == len(before)
