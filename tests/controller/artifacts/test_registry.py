"""The registry on a real store (SQLite file, and CouchDB through pouchdb-server) and a
folder blob store: monotonic versions under concurrent writers, the name's kind pinned,
numbers never reused, locality-checked content, selector resolution kept current."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import pytest
from edgewhisk_controller.artifacts import (
    ArtifactNotFound,
    ArtifactRegistry,
    InvalidArtifact,
    LocalityRefused,
    NewArtifact,
    NoMatchingVersion,
)

from .conftest import Run, body


@pytest.fixture
def registry(empty_registry: ArtifactRegistry) -> ArtifactRegistry:
    return empty_registry


def model(name: str = "u1/glucose-base", **fields: Any) -> NewArtifact:
    return NewArtifact(name=name, kind=fields.pop("kind", "model"), owner="guest", **fields)


def test_twenty_concurrent_puts_get_twenty_distinct_consecutive_versions(
        registry: ArtifactRegistry, run: Run[Any]) -> None:
    async def twenty() -> list[dict[str, Any]]:
        return await asyncio.gather(*(registry.create("guest", model(), body(b"%d" % i))
                                      for i in range(20)))

    docs = run(twenty())
    assert sorted(d["version"] for d in docs) == list(range(1, 21))
    stored = run(registry.versions("guest", "u1/glucose-base"))
    assert [d["version"] for d in stored] == list(range(20, 0, -1))
    assert run(registry.get("guest", "u1/glucose-base"))["version"] == 20


def test_a_version_records_what_was_stored_and_where(registry: ArtifactRegistry,
                                                     run: Run[Any]) -> None:
    data = b"weights"
    doc = run(registry.create("guest", model(
        format="mxnet-gluon", sha256=hashlib.sha256(data).hexdigest(), created_by="a1",
        lineage={"model": "base@1", "data": "u1/glucose@2"},
        metadata={"type": "classifier", "trained_on": "glucose", "input": "timeseries"},
        metrics={"accuracy": 0.9, "bias": {"gender": 0.1}}), body(data)))
    assert {k: doc[k] for k in ("namespace", "name", "version", "kind", "format", "size",
                                "sha256", "created_by", "locality", "owner", "copies",
                                "type", "trained_on")} == {
        "namespace": "guest", "name": "u1/glucose-base", "version": 1, "kind": "model",
        "format": "mxnet-gluon", "size": 7, "sha256": hashlib.sha256(data).hexdigest(),
        "created_by": "a1", "locality": "cloud", "owner": "guest", "copies": ["cloud"],
        "type": "classifier", "trained_on": "glucose"}
    assert doc["lineage"] == {"model": "base@1", "data": "u1/glucose@2"}
    _, stat, chunks = run(registry.content("guest", "u1/glucose-base", 1))

    async def read() -> bytes:
        return b"".join([c async for c in chunks])

    assert (stat.size, run(read())) == (7, data)


def test_a_name_keeps_its_kind_and_a_deleted_number_is_never_reused(registry: ArtifactRegistry,
                                                                    run: Run[Any]) -> None:
    run(registry.create("guest", model(), body(b"1")))
    run(registry.create("guest", model(), body(b"2")))
    with pytest.raises(InvalidArtifact, match="is a model; a new version cannot be a data"):
        run(registry.create("guest", model(kind="data"), body(b"x")))
    run(registry.delete("guest", "u1/glucose-base", 2))
    with pytest.raises(ArtifactNotFound, match="no version 2 of artifact u1/glucose-base"):
        run(registry.get("guest", "u1/glucose-base", 2))
    assert run(registry.create("guest", model(), body(b"3")))["version"] == 3


def test_a_local_artifact_is_registered_by_metadata_and_its_bytes_never_served(
        registry: ArtifactRegistry, run: Run[Any]) -> None:
    with pytest.raises(LocalityRefused, match="local to its device; only its metadata"):
        run(registry.create("guest", model("u1/glucose-model", locality="local"), body(b"x")))
    with pytest.raises(InvalidArtifact, match="give held_by, sha256, size"):
        run(registry.create("guest", model("u1/glucose-model", locality="local")))
    doc = run(registry.create("guest", model("u1/glucose-model", locality="local",
                                             held_by="pi1", sha256="0" * 64, size=3)))
    assert doc["copies"] == ["pi1"]
    with pytest.raises(LocalityRefused,
                       match="^artifact u1/glucose-model is local to its device; only its "
                             "metadata leaves it$"):
        run(registry.content("guest", "u1/glucose-model", None))


def test_resolution_sees_versions_written_after_the_index_was_loaded(registry: ArtifactRegistry,
                                                                     run: Run[Any]) -> None:
    meta = {"type": "classifier", "trained_on": "glucose"}
    run(registry.create("guest", model(metadata=meta, metrics={"accuracy": 0.7}), body(b"1")))
    selector = {**meta, "metrics": {"accuracy": ">=0.8"}}
    with pytest.raises(NoMatchingVersion) as none:
        run(registry.resolve("guest", selector))
    assert none.value.details["candidates"] == [
        {"artifact": "u1/glucose-base@1", "failed": ["accuracy 0.7 fails >=0.8"]}]
    run(registry.create("guest", model(metadata=meta, metrics={"accuracy": 0.9}), body(b"2")))
    assert run(registry.resolve("guest", selector))["version"] == 2
    run(registry.delete("guest", "u1/glucose-base", 2))
    with pytest.raises(NoMatchingVersion):
        run(registry.resolve("guest", selector))


def test_copies_follow_what_an_invoker_holds_across_a_controller_restart(
        registry: ArtifactRegistry, run: Run[Any]) -> None:
    """An invoker's reports keep ``copies`` current; what it held last is persisted, so after
    a restart (a new ArtifactRegistry on the same store) its first report also drops what it lost —
    a registering device reports what it holds, not what it evicted meanwhile."""
    for name in ("a", "b"):
        run(registry.create("guest", model(name), body(name.encode())))

    def report(reg: ArtifactRegistry, *holdings: set[str]) -> dict[str, list[str]]:
        async def follow() -> None:  # reports arrive on the controller's event loop
            for keys in holdings:
                reg.follow("dev", keys, namespace="guest")
            await reg.settled()

        run(follow())
        return {n: run(reg.get("guest", n, 1))["copies"] for n in ("a", "b")}

    assert report(registry, {"guest/a@1", "guest/b@1", "other/x@1"}) == {
        "a": ["cloud", "dev"], "b": ["cloud", "dev"]}
    restarted = ArtifactRegistry(registry.store, registry.blobs, max_size=registry.max_size)
    assert report(restarted, {"guest/a@1"}) == {"a": ["cloud", "dev"], "b": ["cloud"]}
    assert report(restarted, set(), {"guest/b@1"}) == {"a": ["cloud"], "b": ["cloud", "dev"]}
