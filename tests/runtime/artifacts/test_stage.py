"""Staging consumes into a real node store (fetching from a real 'remote' folder) and collecting
what a real FilesystemSink stored for a run; the consumes and produces are the tunnel's, as both
invokers pass them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from edgewhisk_runtime.artifacts import (
    ArtifactRef,
    ConsumeSpec,
    FilesystemSink,
    NodeStore,
    ProducedArtifact,
)
from edgewhisk_runtime.artifacts.canonical import digest, write_blob
from edgewhisk_runtime.artifacts.stage import collect, stage
from edgewhisk_runtime.exceptions import ArtifactError, DigestMismatch
from edgewhisk_tunnel import Consumed, Produce  # the runtime's ConsumeSpec and ProduceSpec


class Remote:
    """Where missing blobs come from: canonical blobs in a folder; counts what was fetched."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.fetched: list[str] = []
        folder.mkdir()

    def publish(self, key: str, source: Path, fmt: str, locality: str = "cloud",
                kind: str = "data", name: str = "readings") -> Consumed:
        size, sha = write_blob(source, self.folder / key.replace("/", "_"))
        return Consumed(name, kind, key, sha, size, fmt, locality)

    async def fetch(self, consumed: ConsumeSpec, dest: Path) -> None:
        self.fetched.append(consumed.key)
        await asyncio.sleep(0)  # let a concurrent stage run into this fetch
        dest.write_bytes((self.folder / consumed.key.replace("/", "_")).read_bytes())


@pytest.fixture
def store(tmp_path: Path) -> NodeStore:
    return NodeStore(tmp_path / "store", capacity_bytes=1 << 20, by="dev1")


@pytest.fixture
def remote(tmp_path: Path) -> Remote:
    return Remote(tmp_path / "remote")


def _model(folder: Path, weights: bytes = b"w" * 100) -> Path:
    folder.mkdir()
    (folder / "model-symbol.json").write_text("{}")
    (folder / "model-0000.params").write_bytes(weights)
    return folder


def test_a_missing_artifact_is_fetched_once_and_then_served_from_the_store(
        store: NodeStore, remote: Remote, tmp_path: Path) -> None:
    (tmp_path / "r.npy").write_bytes(b"readings")
    consumed = remote.publish("guest/u1/glucose@1", tmp_path / "r.npy", "npy")
    for _ in range(2):
        staged = asyncio.run(stage(store, [consumed], remote.fetch, tmp=store.tmp))
        assert list(staged) == ["readings"] and staged["readings"]["format"] == "npy"
        assert Path(staged["readings"]["path"]).read_bytes() == b"readings"
    assert remote.fetched == ["guest/u1/glucose@1"]
    entry = store.get("guest/u1/glucose@1")
    assert entry is not None and not entry.pinned and entry.locality == "cloud"
    assert json.loads(json.dumps(staged)) == staged  # goes into the /run field as JSON
    assert not list(store.tmp.iterdir())


def test_a_folder_artifact_is_staged_as_an_unpacked_folder(store: NodeStore, remote: Remote,
                                                           tmp_path: Path) -> None:
    consumed = remote.publish("guest/glucose-base@3", _model(tmp_path / "m"), "mxnet-gluon",
                              kind="model", name="base")
    staged = asyncio.run(stage(store, [consumed], remote.fetch, tmp=store.tmp))
    path = Path(staged["base"]["path"])
    assert path.is_dir() and str(path).startswith(str(store.root))
    assert digest(path) == (consumed.size, consumed.sha256)


def test_a_stored_entry_with_other_bytes_is_fetched_again(store: NodeStore, remote: Remote,
                                                          tmp_path: Path) -> None:
    (tmp_path / "old").write_bytes(b"old")
    (tmp_path / "new").write_bytes(b"new")
    asyncio.run(stage(store, [remote.publish("guest/x@1", tmp_path / "old", "bytes")],
                      remote.fetch, tmp=store.tmp))
    staged = asyncio.run(stage(store, [remote.publish("guest/x@1", tmp_path / "new", "bytes")],
                               remote.fetch, tmp=store.tmp))
    assert Path(staged["readings"]["path"]).read_bytes() == b"new"
    assert remote.fetched == ["guest/x@1", "guest/x@1"]


def test_a_fetch_delivering_other_bytes_is_refused_and_leaves_nothing(
        store: NodeStore, remote: Remote, tmp_path: Path) -> None:
    (tmp_path / "r").write_bytes(b"readings")
    consumed = remote.publish("guest/r@1", tmp_path / "r", "bytes")
    (remote.folder / "guest_r@1").write_bytes(b"tampered")
    with pytest.raises(DigestMismatch, match="'guest/r@1'"):
        asyncio.run(stage(store, [consumed], remote.fetch, tmp=store.tmp))
    assert store.keys() == [] and not list(store.tmp.iterdir())


def test_a_failing_fetch_propagates_and_leaves_no_scratch_file(store: NodeStore,
                                                               tmp_path: Path) -> None:
    async def broken(consumed: ConsumeSpec, dest: Path) -> None:
        dest.write_bytes(b"half")
        raise ArtifactError("connection lost")

    consumed = Consumed("r", "data", "guest/r@1", "0" * 64, 4, "bytes", "cloud")
    with pytest.raises(ArtifactError, match="connection lost"):
        asyncio.run(stage(store, [consumed], broken, tmp=tmp_path / "scratch"))
    assert not list((tmp_path / "scratch").iterdir()) and store.keys() == []


def test_concurrent_runs_needing_the_same_artifact_share_one_fetch(
        store: NodeStore, remote: Remote, tmp_path: Path) -> None:
    consumed = remote.publish("guest/base@1", _model(tmp_path / "m"), "mxnet-gluon")

    async def runs() -> list[dict[str, dict[str, str]]]:
        return await asyncio.gather(*(stage(store, [consumed], remote.fetch, tmp=store.tmp)
                                      for _ in range(5)))

    staged = asyncio.run(runs())
    assert remote.fetched == ["guest/base@1"]
    assert len({s["readings"]["path"] for s in staged}) == 1


# ---- collect -----------------------------------------------------------------------------


def _run(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """A run's produce root with what the binding middleware's sink stored, and the body."""
    root, outbox = tmp_path / "run", tmp_path / "outbox"
    outbox.mkdir()
    sink = FilesystemSink(root)
    (outbox / "g.npy").write_bytes(b"glucose readings")
    model = _model(outbox / "model", b"refined")
    glucose = asyncio.run(sink.store(ArtifactRef("data", "glucose", "u1/glucose"),
                                     outbox / "g.npy", "npy"))
    refined = asyncio.run(sink.store(ArtifactRef("model", "model", "u1/glucose-model"),
                                     model, "mxnet-gluon"))
    return root, {"glucose": glucose.reference(), "model": refined.reference(), "mae": 0.3}


def test_collect_keeps_produced_artifacts_pinned_unless_cloud(store: NodeStore,
                                                              tmp_path: Path) -> None:
    root, body = _run(tmp_path)
    produces = [Produce("glucose", "data", "guest/u1/glucose@4", "local"),
                Produce("model", "model", "guest/u1/glucose-model@2", "cloud"),
                Produce("mae", "data", "guest/u1/mae@1", "local"),
                Produce("absent", "data", "guest/u1/absent@1", "local")]
    body["model"]["artifact"] |= {"metadata": {"type": "refined"}, "metrics": {"mae": 0.3}}
    produced = asyncio.run(collect(store, body, produces, root))
    assert produced == [
        ProducedArtifact("glucose", "data", "guest/u1/glucose@4", "npy", 16,
                         body["glucose"]["artifact"]["sha256"], "local"),
        ProducedArtifact("model", "model", "guest/u1/glucose-model@2", "mxnet-gluon",
                         body["model"]["artifact"]["size"], body["model"]["artifact"]["sha256"],
                         "cloud", metadata={"type": "refined"}, metrics={"mae": 0.3})]
    pins = {e.key: e.pinned for e in store.entries()}
    assert pins == {"guest/u1/glucose@4": True, "guest/u1/glucose-model@2": False}
    assert (store.path("guest/u1/glucose-model@2") / "model-0000.params").read_bytes() == \
        b"refined"


def test_collect_refuses_a_location_outside_the_produce_root_and_keeps_nothing(
        store: NodeStore, tmp_path: Path) -> None:
    root, body = _run(tmp_path)
    (tmp_path / "secret").write_text("host file")
    body["glucose"]["artifact"]["location"] = (root / ".." / "secret").as_uri()
    produces = [Produce("model", "model", "guest/u1/glucose-model@2", "local"),
                Produce("glucose", "data", "guest/u1/glucose@4", "local")]
    with pytest.raises(ArtifactError, match="'glucose': location .* is not inside"):
        asyncio.run(collect(store, body, produces, root))
    assert store.keys() == []


def test_collect_refuses_an_artifact_changed_after_it_was_saved(store: NodeStore,
                                                                tmp_path: Path) -> None:
    root, body = _run(tmp_path)
    (root / "u1" / "glucose").write_bytes(b"rewritten later")
    with pytest.raises(ArtifactError, match="'glucose' changed after it was saved"):
        asyncio.run(collect(store, body, [Produce("glucose", "data", "guest/u1/glucose@4",
                                                  "local")], root))
    assert store.keys() == []
