"""Pipeline 4, ``composer_flows/field.js``: the field technicians' photos classified (Composer
``map``), the labelled ones uploaded over the corporate network, the classifier retrained with
them, the new model pushed to the fleet's tablets. The steps are the field example's actions
(``actions/examples/field_technician``) and the pipelines' ``push``.

The fleet: an edge-only controller (``--composer-redis``) with a cloud node and two tablets
(label ``fleet=field``), only ``tablet-1`` on the ``corp`` network. Checked: every photo was
classified on a tablet (classify's device policy, ``policy.fn(node="edge", strict=True)``: the
placement annotation of each record names the tablet and the cloud node left out), upload ran
on the one tablet on corp (its strict data policy), retrain in the cloud with those photos (the
new model's lineage names the field-photos the upload made), the model is the next version and
both tablets hold it after the push (the registry's copies), Redis is empty afterwards; a flow
without photos stops before anything runs; with both tablets offline the flow stops at classify
with the platform's unschedulable error, and nothing is classified in the cloud (offline, the
tablets classify through their local API: ``tests/examples/test_field_demo.py``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from controller.api.harness import Client, Controller
from edgewhisk_cli.action import python_action
from edgewhisk_devkit import AgentSpec, Fleet, Redis

from .conftest import (
    FLOWS,
    KEYED,
    ROOT,
    copies_once_reported,
    deploy,
    deploy_push,
    note,
    records_since,
    steps,
    timeline,
)

pytestmark = pytest.mark.mxnet  # the field example's actions run MXNet

FIELD = ROOT / "actions" / "examples" / "field_technician"
if str(FIELD) not in sys.path:
    sys.path.insert(0, str(FIELD))

import equipment  # noqa: E402

LIMITS = {"timeout": 120_000, "memory": 512}
TABLETS = ("tablet-1", "tablet-2")
NODES = [
    AgentSpec("cloud-node", ("--role", "cloud", "--memory", "4096", "--site", "cloud")),
    AgentSpec("tablet-1", ("--label", "fleet=field", "--network", "corp", "--memory", "1024",
                           "--no-battery")),
    AgentSpec("tablet-2", ("--label", "fleet=field", "--network", "4g", "--memory", "1024",
                           "--no-battery")),
]
PHOTOS = 3


def _put(client: Client, name: str) -> None:
    document = python_action(name, FIELD / f"{name}.py", [FIELD / "equipment.py"], LIMITS)
    response = client.request("PUT", f"actions/{name}?overwrite=true", json=document)
    assert response.status_code == 200, response.text


@dataclass(frozen=True)
class Field:
    controller: Controller
    fleet: Fleet

    def client(self) -> Client:
        return self.controller.client()


@pytest.fixture(scope="module")
def field(redis: Redis, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Field]:
    """The fleet, the field actions and push deployed, equipment-model@1 trained."""
    root = tmp_path_factory.mktemp("field")
    with Controller(root / "data", "--invokers", "0", "--composer-redis", redis.uri) as ctl, \
            ctl.client() as client, Fleet(client, NODES, root, stores=root / "stores") as fleet:
        for name in ("train", "classify", "upload", "retrain"):
            _put(client, name)
        deploy_push(client, "push", KEYED)
        first = client.actions.invoke("train", {"seed": 0}, wait_s=300)
        assert first.success, first.record
        deploy(ctl, "field", FLOWS / "field.js", root)
        yield Field(ctl, fleet)


def test_photos_are_uploaded_on_corp_retrained_on_and_the_model_pushed_to_the_tablets(
    field: Field, redis: Redis, timelines: Path
) -> None:
    x, y = equipment.photos(PHOTOS, seed=7)
    photos = [{"pixels": equipment.as_list(p), "state": equipment.STATES[int(s)]}
              for p, s in zip(x, y, strict=True)]
    with field.client() as client:
        done = client.actions.invoke("field", {"photos": photos, "seed": 1}, wait_s=300)
        assert done.success, done.record
        ran = steps(client, done.record)
        classified = records_since(client, "classify", done.record["start"])
        copies = copies_once_reported(client, "equipment-model@2", TABLETS)
        model = client.artifacts.get("equipment-model@2")
        timeline(client, done.record, ("classify", "upload", "retrain", "push"), timelines,
                 "field")
    result = done.result
    assert len(result["classified"]) == PHOTOS
    assert all(c["state"] in equipment.STATES for c in result["classified"])
    assert len(classified) == PHOTOS
    for record in classified:  # a tablet, by classify's device policy: the cloud node left out
        placement = note(record, "placement")
        assert placement["invoker"] in TABLETS, placement
        assert note(record, "invoker") == placement["invoker"], record["annotations"]
        assert placement["excluded"] == {"not matching node edge": 1}, placement
    where = {s.name: s.invoker for s in ran}
    assert where["upload"] == "tablet-1"  # the only device on corp
    assert where["retrain"] == where["push"] == "cloud-node"
    assert result["uploaded"] == PHOTOS
    assert result["model"] == {"key": "guest/equipment-model@2", "version": 2, "status": "ok"}
    # retrained with the photos the upload made an artifact of on tablet-1
    assert result["samples"]["field"] == PHOTOS
    assert model["lineage"]["data"] == ["guest/field-photos@1"]
    pushed = {d["invoker"]: d["status"] for d in result["pushed"]}
    assert set(pushed) == set(TABLETS) and set(pushed.values()) <= {"preloaded", "cached"}
    assert set(TABLETS) <= set(copies)
    assert redis.keys() == []


def test_a_flow_without_photos_stops_before_anything_runs(field: Field) -> None:
    with field.client() as client:
        before = client.activations.list(name="upload", limit=50)
        done = client.actions.invoke("field", {}, wait_s=60)
        after = client.activations.list(name="upload", limit=50)
    assert not done.success
    assert done.result == {"error": 'field: give the labelled photos, e.g. {"photos": '
                                    '[{"pixels": [...], "state": "ok"}]}'}
    assert len(after) == len(before)


def test_with_the_tablets_offline_nothing_is_classified_in_the_cloud(field: Field) -> None:
    """Last in this module: it stops both tablets' agents (the fleet is not used after it)."""
    for tablet in TABLETS:
        field.fleet.agents[tablet].child.terminate()
        field.fleet.agents[tablet].child.wait_stopped()
    x, _ = equipment.photos(1, seed=9)
    with field.client() as client:
        _wait_offline(client, TABLETS)
        done = client.actions.invoke("field", {"photos": [{"pixels": equipment.as_list(x[0]),
                                                           "state": "ok"}]}, wait_s=120)
        classified = records_since(client, "classify", done.record["start"])
        uploads = records_since(client, "upload", done.record["start"])
    unschedulable = "0/1 invokers are available: 1 not matching node edge."
    assert not done.success
    assert done.result == {"error": "field: no photo was classified, nothing uploaded "
                                    f"({unschedulable})"}
    assert [r["response"]["result"] for r in classified] == [{"error": unschedulable}]
    assert note(classified[0], "invoker") is None  # placed nowhere: the cloud node left out
    assert uploads == []


def _wait_offline(client: Client, ids: tuple[str, ...]) -> None:
    """Until the controller lists none of ``ids`` online (their tunnels closed)."""
    deadline = time.monotonic() + 30
    while any(i["id"] in ids and i["online"] for i in client.invokers()):
        assert time.monotonic() < deadline, client.invokers()
        time.sleep(0.2)
