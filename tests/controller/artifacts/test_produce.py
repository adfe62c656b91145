"""Registering what an invoker reports it kept, on a real registry (SQLite, folder blob
store): only versions allocated for the activation, under the planned kind and locality, with
lineage, creator, owner, metadata and metrics; the cloud copy only when the blob store holds
the reported bytes; and the result's values replaced by references."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from edgewhisk_controller.artifacts import ArtifactRegistry, StagingFailed
from edgewhisk_controller.artifacts import produce as producing
from edgewhisk_controller.blobs import LocalBlobStore
from edgewhisk_controller.stores import open_store
from edgewhisk_runtime.artifacts import ProducedArtifact
from edgewhisk_tunnel import Produce

from .conftest import Run

NS = "guest"
DATA = b"the refined model"
SHA = hashlib.sha256(DATA).hexdigest()


async def body(data: bytes) -> AsyncIterator[bytes]:
    yield data


@pytest.fixture
def registry(tmp_path: Path, run: Run[Any]) -> Iterator[ArtifactRegistry]:
    store = open_store(tmp_path / "state")
    registry = ArtifactRegistry(store, LocalBlobStore(tmp_path / "blobs"), max_size=1 << 20)
    yield registry
    run(registry.close())
    run(store.close())


def planned(registry: ArtifactRegistry, run: Run[Any], name: str, locality: str,
            kind: str = "model") -> Produce:
    version = run(registry.allocate(NS, name, kind))
    return Produce(name=name.rsplit("/", 1)[-1], kind=kind, ref=f"{NS}/{name}@{version}",
                   locality=locality)


def kept(plan: Produce, **fields: Any) -> ProducedArtifact:
    return ProducedArtifact(**{"name": plan.name, "kind": plan.kind, "ref": plan.ref,
                               "format": "mxnet-gluon", "size": len(DATA), "sha256": SHA,
                               "locality": plan.locality, **fields})


def register(registry: ArtifactRegistry, run: Run[Any], produced: list[ProducedArtifact],
             plans: list[Produce]) -> dict[str, Any]:
    return run(producing.register(
        registry, produced, plans, activation_id="a1", invoker="u1-phone", owner="u1",
        lineage={"model": "guest/glucose-base@2", "data": ["guest/u1/glucose@1"]}))


def test_a_kept_artifact_is_registered_as_planned(registry: ArtifactRegistry,
                                                  run: Run[Any]) -> None:
    plan = planned(registry, run, "u1/glucose-model", "local")
    docs = register(registry, run, [kept(plan, locality="cloud", kind="data",
                                         metadata={"type": "classifier"},
                                         metrics={"accuracy": 0.9})], [plan])
    doc = run(registry.get(NS, "u1/glucose-model", 1))
    assert docs == {"glucose-model": doc}
    assert {k: doc[k] for k in ("kind", "locality", "copies", "created_by", "owner", "lineage",
                                "size", "sha256", "format", "metadata", "metrics", "type")} == {
        "kind": "model", "locality": "local", "copies": ["u1-phone"], "created_by": "a1",
        "owner": "u1", "lineage": {"model": "guest/glucose-base@2",
                                   "data": ["guest/u1/glucose@1"]},
        "size": len(DATA), "sha256": SHA, "format": "mxnet-gluon",
        "metadata": {"type": "classifier"}, "metrics": {"accuracy": 0.9},
        "type": "classifier"}


def test_an_artifact_that_was_not_planned_is_ignored(registry: ArtifactRegistry,
                                                  run: Run[Any]) -> None:
    plan = planned(registry, run, "u1/glucose-model", "local")
    other = Produce(name="glucose-model", kind="model", ref="guest/u2/glucose-model@1",
                    locality="local")
    assert register(registry, run, [kept(other), kept(plan, name="renamed")], [plan]) == {}
    assert run(registry.versions(NS, "u1/glucose-model")) == []
    assert run(registry.versions(NS, "u2/glucose-model")) == []


@pytest.mark.parametrize("stored, copies", [
    pytest.param(DATA, ["cloud", "local0"], id="the uploaded bytes are in the blob store"),
    pytest.param(b"other bytes", ["local0"], id="the blob store holds other bytes"),
    pytest.param(None, ["local0"], id="nothing reached the blob store"),
])
def test_the_cloud_copy_is_recorded_only_when_the_blob_store_holds_it(
        registry: ArtifactRegistry, run: Run[Any], stored: bytes | None, copies: list[str]) -> None:
    plan = planned(registry, run, "glucose-base", "cloud")
    if stored is not None:
        run(registry.blobs.put("guest/glucose-base@1", body(stored)))
    docs = run(producing.register(registry, [kept(plan, upload="t1")], [plan],
                                  activation_id="a1", invoker="local0", owner="guest",
                                  lineage={"data": []}))
    assert docs["glucose-base"]["copies"] == copies


def test_uploaded_bytes_of_a_local_artifact_are_removed(registry: ArtifactRegistry,
                                                        run: Run[Any]) -> None:
    plan = planned(registry, run, "u1/glucose-model", "local")
    run(registry.blobs.put("guest/u1/glucose-model@1", body(DATA)))
    docs = register(registry, run, [kept(plan, upload="t1")], [plan])
    assert docs["glucose-model"]["copies"] == ["u1-phone"]
    assert not run(registry.blobs.exists("guest/u1/glucose-model@1"))


def test_a_report_that_cannot_be_registered_names_the_artifact(registry: ArtifactRegistry,
                                                               run: Run[Any]) -> None:
    plan = planned(registry, run, "u1/glucose-model", "local")
    with pytest.raises(StagingFailed, match="produced model 'glucose-model' "
                       r"\(guest/u1/glucose-model@1\) was kept by invoker u1-phone but cannot "
                       "be registered: sha256"):
        register(registry, run, [kept(plan, sha256="not hex")], [plan])


def test_the_result_carries_references(registry: ArtifactRegistry,
                                                  run: Run[Any]) -> None:
    plan = planned(registry, run, "u1/glucose-model", "local")
    docs = register(registry, run, [kept(plan)], [plan])
    result = {"glucose-model": {"artifact": {"location": "/device/path"}}, "accuracy": 0.9}
    assert producing.rewrite(result, docs) == {"accuracy": 0.9, "glucose-model": {"artifact": {
        "kind": "model", "name": "u1/glucose-model", "ref": "u1/glucose-model", "version": 1,
        "key": "guest/u1/glucose-model@1", "format": "mxnet-gluon", "size": len(DATA),
        "sha256": SHA, "locality": "local",
        "status": "ok", "location": "/api/v1/namespaces/guest/artifacts/u1/glucose-model@1"}}}
    assert producing.rewrite(["a", "list"], docs) == ["a", "list"]


def test_a_held_back_version_s_reference_says_it_is_gated(registry: ArtifactRegistry,
                                                         run: Run[Any]) -> None:
    """What a composition reads to stop at a validator gate (composer_flows/training.js)."""
    plan = planned(registry, run, "u1/glucose-model", "local")
    docs = run(producing.register(
        registry, [kept(plan)], [plan], activation_id="a1", invoker="u1-phone", owner="u1",
        lineage={}, held={"glucose-model"}))
    assert run(registry.get(NS, "u1/glucose-model", 1))["status"] == "gated"
    result = producing.rewrite({"glucose-model": {}}, docs)
    assert result["glucose-model"]["artifact"]["status"] == "gated"
