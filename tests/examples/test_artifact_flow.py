"""The proof of issue 6, from one real ``edgewhisk demo`` run (``demo_run``): the personal
assistant ran end to end with real artifacts, and the stores' access logs say where every byte
went — the controller's blob store (``controller/blobs-access.log``) and each node's store
(``stores/<node>/access.log``), matched by sha256 against the registry's documents.

- No user's readings or refined model reached the cloud blob store or another node: their
  sha256 appears in their own device's log only (and their key nowhere else either).
- The base model went cloud -> devices: produced on the cloud node, uploaded through the tunnel
  into the blob store, fetched through the tunnel into each device's store (an unpinned cache),
  and recorded as the refined models' lineage (the registry resolved refine's selector).
- Predictions use the refined model: the probabilities predict returned are those of the model
  in that user's device store, not the base's.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import glucose
import pytest
from edgewhisk import ArtifactHandle
from edgewhisk_controller.stores import open_store
from edgewhisk_runtime.artifacts.canonical import materialize
from edgewhisk_runtime.artifacts.store import NodeStore

from .conftest import DemoRun

pytestmark = pytest.mark.mxnet  # the personal-assistant actions run MXNet (the ai extra)

USERS = ("u1", "u2")
NODES = ("cloud-node", *(f"{u}-phone" for u in USERS))
NS = "guest"
BASE = f"{NS}/glucose-base@1"
READINGS = 400  # the demo's default, what collect generated on each device
SCORED = 3  # held-out readings the demo asks predict to score


@pytest.fixture(scope="module")
def demo(demo_run: DemoRun) -> DemoRun:
    assert demo_run.done.returncode == 0, demo_run.done.stderr[-6000:]
    return demo_run


def _log(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _logs(demo: DemoRun) -> dict[str, list[dict[str, Any]]]:
    """Every store's access log by store: the blob store and each node's."""
    return {"blob-store": _log(demo.blob_log),
            **{node: _log(demo.store(node) / "access.log") for node in NODES}}


def _stored(demo: DemoRun, collection: str) -> dict[str, dict[str, Any]]:
    async def read() -> dict[str, dict[str, Any]]:
        async with open_store(demo.controller) as store:
            return {doc["_id"]: doc for doc in await store.list(collection, limit=200)}
    return asyncio.run(read())


@pytest.fixture(scope="module")
def registry(demo: DemoRun) -> dict[str, dict[str, Any]]:
    """The registry's documents by key (``guest/u1/glucose@1``)."""
    return _stored(demo, "artifacts")


def _user_keys(usr: str) -> list[str]:
    return [f"{NS}/{usr}/glucose@1", f"{NS}/{usr}/glucose-model@1"]


@pytest.mark.parametrize("usr", USERS, ids=[f"{u}'s readings and model" for u in USERS])
def test_a_users_artifacts_are_registered_local_with_their_device_as_only_copy(
        registry: dict[str, dict[str, Any]], usr: str) -> None:
    for key in _user_keys(usr):
        doc = registry[key]
        assert (doc["locality"], doc["copies"], doc["owner"]) == ("local", [f"{usr}-phone"], usr)
        assert len(doc["sha256"]) == 64 and doc["size"] > 0


@pytest.mark.parametrize("usr", USERS, ids=[f"{u}'s bytes stayed on {u}-phone" for u in USERS])
def test_no_users_bytes_reached_the_cloud_blob_store_or_another_device(
        demo: DemoRun, registry: dict[str, dict[str, Any]], usr: str) -> None:
    logs = _logs(demo)
    for key in _user_keys(usr):
        sha = registry[key]["sha256"]
        seen = {store for store, lines in logs.items()
                for line in lines if line["sha256"] == sha or line["key"] == key}
        assert seen == {f"{usr}-phone"}, f"{key} ({sha[:12]}) appears in {sorted(seen)}"
        puts = [x for x in logs[f"{usr}-phone"] if x["key"] == key and x["op"] == "put"]
        assert len(puts) == 1, "born on the device: written once, there"
    on_disk = sorted(p.relative_to(demo.controller / "blobs" / "data").as_posix()
                     for p in (demo.controller / "blobs" / "data").rglob("*") if p.is_file())
    assert on_disk == ["guest/glucose-base@1"], "the blob store holds the base model only"


def test_the_base_model_went_from_the_cloud_to_each_device_through_the_tunnel(
        demo: DemoRun, registry: dict[str, dict[str, Any]]) -> None:
    doc, logs = registry[BASE], _logs(demo)
    sha = doc["sha256"]
    assert (doc["locality"], doc["copies"][0]) == ("cloud", "cloud")
    activations = _stored(demo, "activations")
    assert activations[doc["created_by"]]["name"] == "train_base"

    def ops(store: str) -> list[tuple[str, float]]:
        return [(x["op"], x["ts"]) for x in logs[store] if x["sha256"] == sha]

    produced = ops("cloud-node")[0]
    blob = ops("blob-store")
    assert produced[0] == "put" and blob[0][0] == "put" and produced[1] <= blob[0][1]
    gets = [ts for op, ts in blob if op == "get"]
    assert len(gets) == len(USERS), "each device fetched it once from the blob store"
    for usr in USERS:
        node = f"{usr}-phone"
        fetched = ops(node)[0]
        assert fetched[0] == "put" and fetched[1] >= blob[0][1]
        entry = NodeStore(demo.store(node), capacity_bytes=1 << 30, by="test",
                          log=demo.workdir / "test-reads.log").get(BASE)
        assert entry is not None and (entry.sha256, entry.pinned) == (sha, False), \
            "a cache of the cloud copy"
        assert node in doc["copies"]
    uploaded = f"invoker cloud-node uploaded {BASE}"
    assert uploaded in (demo.workdir / "controller.log").read_text()


@pytest.mark.parametrize("usr", USERS,
                         ids=[f"{u}'s model refines the resolved base" for u in USERS])
def test_refine_consumed_the_base_the_registry_resolved_and_the_users_readings(
        registry: dict[str, dict[str, Any]], usr: str) -> None:
    lineage = registry[f"{NS}/{usr}/glucose-model@1"]["lineage"]
    assert lineage == {"model": BASE, "data": [f"{NS}/{usr}/glucose@1"]}


def _model_from(blob: Path, tmp: Path) -> Any:
    folder = materialize(blob, "mxnet-gluon", tmp / blob.name)
    return ArtifactHandle("model", blob.name, None, lambda: folder, format="mxnet-gluon").load()


@pytest.mark.parametrize("usr", USERS,
                         ids=[f"{u}'s predictions are its refined model's" for u in USERS])
def test_predictions_use_the_refined_model_from_the_devices_store(
        demo: DemoRun, tmp_path: Path, usr: str) -> None:
    model = f"{NS}/{usr}/glucose-model@1"
    record = next(r for r in _stored(demo, "activations").values()  # scene 1's predict
                  if r["name"] == "predict" and r["response"]["result"].get("usr") == usr
                  and len(r["response"]["result"].get("predictions", ())) == SCORED
                  and {g["version"] for a in r["annotations"] if a["key"] == "gates"
                       for g in a["value"]} == {model})
    served = [p["probability"] for p in record["response"]["result"]["predictions"]]
    held_out = glucose.split(glucose.user_readings(usr, READINGS))[1]
    x = glucose.readings_matrix(glucose.as_dicts(held_out["X"][-SCORED:]))  # as sent (JSON)
    store = NodeStore(demo.store(f"{usr}-phone"), capacity_bytes=1 << 30, by="test",
                      log=tmp_path / "reads.log")  # the test's reads stay out of the proof
    _, refined_blob = store.open_blob(f"{NS}/{usr}/glucose-model@1")
    _, base_blob = store.open_blob(BASE)
    refined = glucose.predict_proba(_model_from(refined_blob, tmp_path / "refined"), x)
    base = glucose.predict_proba(_model_from(base_blob, tmp_path / "base"), x)
    assert served == pytest.approx([round(float(p), 4) for p in refined], abs=1e-4)
    assert served != pytest.approx([round(float(p), 4) for p in base], abs=1e-3)
