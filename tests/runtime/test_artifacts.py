"""Contract suite of the artifact backends: every Resolver/Sink pair must pass all of it.

Only the filesystem backend exists today; the artifact issue adds its backends to
``BACKENDS`` and they run the same rows.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from edgewhisk_runtime.artifacts import ArtifactRef, Resolver, Sink, from_directory
from edgewhisk_runtime.exceptions import ArtifactError

BACKENDS: dict[str, Callable[[Path], tuple[Resolver, Sink]]] = {
    "filesystem": from_directory,
}


@pytest.fixture(params=list(BACKENDS))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Resolver, Sink, Path]:
    resolver, sink = BACKENDS[request.param](tmp_path / "store")
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    return resolver, sink, outbox


def test_a_stored_file_resolves_with_its_content_and_format(backend) -> None:
    resolver, sink, outbox = backend
    (outbox / "summary.json").write_text('{"total": 21}')
    artifact = ArtifactRef("data", "summary", "u1/summary")
    stored = asyncio.run(sink.store(artifact, outbox / "summary.json", "json"))
    content = b'{"total": 21}'
    assert (stored.ref, stored.format, stored.size) == ("u1/summary", "json", len(content))
    assert stored.sha256 == hashlib.sha256(content).hexdigest()
    resolved = asyncio.run(resolver.resolve(artifact))
    assert resolved.format == "json"
    assert resolved.path.read_bytes() == content
    assert stored.reference() == {"artifact": {
        "kind": "data", "name": "summary", "ref": "u1/summary", "format": "json",
        "size": len(content), "sha256": stored.sha256, "location": stored.location}}


def test_a_stored_folder_resolves_as_a_folder_and_replaces_the_previous_one(backend) -> None:
    resolver, sink, outbox = backend
    artifact = ArtifactRef("model", "glucose-model", "u1/glucose-model")
    for version in ("1", "2"):
        model = outbox / f"model{version}"
        model.mkdir()
        (model / "model-symbol.json").write_text("{}")
        (model / "model-0000.params").write_text(version)
        asyncio.run(sink.store(artifact, model, "mxnet-gluon"))
    resolved = asyncio.run(resolver.resolve(artifact))
    assert resolved.format == "mxnet-gluon"
    assert sorted(p.name for p in resolved.path.iterdir()) == ["model-0000.params",
                                                                "model-symbol.json"]
    assert (resolved.path / "model-0000.params").read_text() == "2"


ERROR_ROWS = [
    ("a missing artifact is an error naming it", ArtifactRef("data", "readings", "u9/glucose"),
     "not found"),
    ("a ref escaping the store is refused", ArtifactRef("data", "x", "../outside"),
     "not a relative path"),
    ("an absolute ref is refused", ArtifactRef("data", "x", "/etc/passwd"),
     "not a relative path"),
]


@pytest.mark.parametrize("artifact, words", [r[1:] for r in ERROR_ROWS],
                         ids=[r[0] for r in ERROR_ROWS])
def test_resolve_errors(artifact: ArtifactRef, words: str, backend) -> None:
    resolver, _, _ = backend
    with pytest.raises(ArtifactError) as failed:
        asyncio.run(resolver.resolve(artifact))
    assert words in failed.value.message and artifact.name in failed.value.message


def test_a_selector_only_model_resolves_by_name(backend, tmp_path: Path) -> None:
    resolver, sink, outbox = backend
    (outbox / "base.bin").write_bytes(b"weights")
    asyncio.run(sink.store(ArtifactRef("model", "base", None), outbox / "base.bin", "bytes"))
    resolved = asyncio.run(resolver.resolve(ArtifactRef("model", "base", None,
                                                        {"type": "classifier"})))
    assert resolved.path.read_bytes() == b"weights"
