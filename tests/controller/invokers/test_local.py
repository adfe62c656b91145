"""LocalInvoker's artifact plumbing with a real node store, a folder blob store and a real
action proxy (process backend): what it stages comes from the blob store and only for
``cloud`` artifacts; every failure is a typed error naming the artifact, with nothing run and
the store as it was."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from edgewhisk_controller.artifacts import LocalityRefused, StagingFailed
from edgewhisk_controller.blobs import LocalBlobStore
from edgewhisk_controller.invokers import LocalInvoker
from edgewhisk_runtime.artifacts.store import NodeStore
from edgewhisk_runtime.containers import ActionSpec, ContainerPool, ProcessBackend
from edgewhisk_tunnel import Consumed

CODE = '''
from edgewhisk import consumes

@consumes.model("base", name="base")
def main(args, base):
    return {"base": base.path.read_text()}
'''
SPEC = ActionSpec(key="guest/read@0.0.1", kind="python:3", code=CODE, binary=False,
                  main="main", image=None, env={}, memory_mb=256, timeout_ms=60_000,
                  concurrency=1)
FIELDS = {"activation_id": "a1", "transaction_id": "t1", "namespace": "guest",
          "action_name": "/guest/read", "action_version": "0.0.1"}
BASE = b"base weights"


async def body(data: bytes) -> AsyncIterator[bytes]:
    yield data


def consumed(locality: str = "cloud", data: bytes = BASE, key: str = "guest/base@1") -> Consumed:
    return Consumed(name="base", kind="model", key=key, sha256=hashlib.sha256(data).hexdigest(),
                    size=len(data), format="bytes", locality=locality)


@pytest.fixture
def run() -> Iterator[Any]:
    loop = asyncio.new_event_loop()
    yield loop.run_until_complete
    loop.close()


@pytest.fixture
def invoker(tmp_path: Path, run: Any) -> Iterator[LocalInvoker]:
    blobs = LocalBlobStore(tmp_path / "blobs")
    run(blobs.put("guest/base@1", body(BASE)))
    store = NodeStore(tmp_path / "node-store", capacity_bytes=1024, by="local0")
    local = LocalInvoker("local0", ContainerPool(ProcessBackend(), memory_mb=512),
                         store=store, blobs=blobs)
    yield local
    run(local.close())


def test_a_cloud_artifact_is_staged_from_the_blob_store(invoker: LocalInvoker,
                                                        run: Any) -> None:
    outcome = run(invoker.run(SPEC, {}, FIELDS, consumes=[consumed()]))
    assert (outcome.status, outcome.response) == (200, {"base": BASE.decode()})
    assert invoker.store is not None and invoker.store.keys() == ["guest/base@1"]
    assert "base" in invoker.state().cached


@pytest.mark.parametrize("item, error, words", [
    pytest.param(consumed("local"), LocalityRefused, "artifact base@1 is local to its device; "
                 "only its metadata leaves it: refused to move it from the cloud store",
                 id="a local artifact it does not hold"),
    pytest.param(consumed("network:plant"), LocalityRefused, "refused to move it from the "
                 "cloud store", id="a network artifact"),
    pytest.param(consumed(key="guest/gone@1"), StagingFailed, "could not fetch artifact "
                 "guest/gone@1 from the blob store", id="a blob missing from the blob store"),
    pytest.param(consumed(data=b"other bytes"), StagingFailed, "could not stage the consumed "
                 "artifacts", id="bytes that differ from the registry's digest"),
    pytest.param(consumed(data=b"x" * 2048), StagingFailed, "could not stage the consumed "
                 "artifacts", id="more than the store's byte budget"),
])
def test_what_cannot_be_staged_is_a_typed_error_and_nothing_runs(
        invoker: LocalInvoker, run: Any, tmp_path: Path, item: Consumed, error: type,
        words: str) -> None:
    if item.size == 2048:
        run(invoker.blobs.put("guest/base@1", body(b"x" * 2048)))  # type: ignore[union-attr]
    with pytest.raises(error) as raised:
        run(invoker.run(SPEC, {}, FIELDS, consumes=[item]))
    assert words in raised.value.message
    assert invoker.store is not None and invoker.store.keys() == []
    assert invoker.pool.containers == 0


def test_without_a_node_store_artifacts_are_refused(run: Any) -> None:
    bare = LocalInvoker("bare", ContainerPool(ProcessBackend(), memory_mb=512))
    try:
        with pytest.raises(StagingFailed, match="invoker bare has no node store"):
            run(bare.run(SPEC, {}, FIELDS, consumes=[consumed()]))
    finally:
        run(bare.close())


def test_preload_stages_a_version_once(invoker: LocalInvoker, run: Any) -> None:
    doc = {"_id": "guest/base@1", "name": "base", "version": 1, "kind": "model",
           "format": "bytes", "locality": "cloud", "size": len(BASE),
           "sha256": hashlib.sha256(BASE).hexdigest()}
    assert run(invoker.preload(doc)) == "preloaded"
    assert run(invoker.preload(doc)) == "cached"
    assert invoker.store is not None and invoker.store.keys() == ["guest/base@1"]
    assert not invoker.store.get("guest/base@1").pinned  # type: ignore[union-attr]
