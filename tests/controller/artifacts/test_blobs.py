"""The blob store contract: the folder store and the S3 store (a real moto server) both pass
every test here. A blob is verified against its sha256 as it arrives; a refused write leaves
nothing behind (not under its key, not as a temporary file, not as an open multipart upload).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from edgewhisk_controller.blobs import (
    BlobNotFound,
    BlobStore,
    BlobTooLarge,
    BlobUnavailable,
    DigestMismatch,
    LocalBlobStore,
    open_blobs,
)
from edgewhisk_controller.blobs.s3 import PART, S3BlobStore

from ..conftest import free_port
from .conftest import Run, S3Server

BIG = PART * 2 + 12345  # three multipart parts on S3, the last one short


async def chunks_of(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def read_all(store: BlobStore, key: str) -> bytes:
    return b"".join([chunk async for chunk in store.get(key)])


def leftovers(store: BlobStore, s3: S3Server | None, bucket: str) -> list[str]:
    """What a store holds besides complete blobs: temporary files or open uploads."""
    if isinstance(store, LocalBlobStore):
        tmp = store.root / "tmp"
        return sorted(p.name for p in tmp.iterdir()) if tmp.exists() else []
    assert s3 is not None
    return s3.uploads(bucket)


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path, bucket: str,
            run: Run[Any]) -> Iterator[tuple[BlobStore, S3Server | None]]:
    s3: S3Server | None = None
    if request.param == "local":
        store: BlobStore = open_blobs(str(tmp_path / "blobs"))
    else:
        s3 = request.getfixturevalue("s3_server")
        store = open_blobs(s3.url(bucket))
    yield store, s3
    run(store.close())


@pytest.fixture
def store(backend: tuple[BlobStore, S3Server | None]) -> BlobStore:
    return backend[0]


@pytest.mark.parametrize("data", [
    pytest.param(b"", id="an empty blob"),
    pytest.param(b"hello artifacts", id="a few bytes"),
    pytest.param(bytes(range(256)) * (BIG // 256), id="a blob spanning several S3 parts"),
])
def test_what_is_put_reads_back_with_its_size_and_digest(store: BlobStore, run: Run[Any],
                                                        data: bytes) -> None:
    stat = run(store.put("guest/u1/m@1", chunks_of(data), sha256=sha(data)))
    assert (stat.size, stat.sha256) == (len(data), sha(data))
    assert run(store.stat("guest/u1/m@1")) == stat
    assert run(read_all(store, "guest/u1/m@1")) == data
    assert run(store.exists("guest/u1/m@1"))


def test_a_put_without_a_digest_records_the_one_computed_on_arrival(store: BlobStore,
                                                                    run: Run[Any]) -> None:
    assert run(store.put("a", chunks_of(b"xyz"))).sha256 == sha(b"xyz")
    assert run(store.stat("a")).sha256 == sha(b"xyz")


@pytest.mark.parametrize("data", [
    pytest.param(b"small and wrong", id="a small blob"),
    pytest.param(b"\x01" * BIG, id="a multipart blob"),
])
def test_a_digest_mismatch_leaves_nothing_behind_and_keeps_the_previous_blob(
        backend: tuple[BlobStore, S3Server | None], bucket: str, run: Run[Any],
        data: bytes) -> None:
    store, s3 = backend
    run(store.put("k", chunks_of(b"previous")))
    with pytest.raises(DigestMismatch) as refused:
        run(store.put("k", chunks_of(data), sha256=sha(b"something else")))
    assert refused.value.actual == sha(data)
    assert run(read_all(store, "k")) == b"previous"
    with pytest.raises(DigestMismatch):
        run(store.put("fresh", chunks_of(data), sha256=sha(b"something else")))
    assert not run(store.exists("fresh"))
    assert leftovers(store, s3, bucket) == []


@pytest.mark.parametrize("size", [pytest.param(1000, id="a small limit"),
                                  pytest.param(PART + 10, id="a limit past the first S3 part")])
def test_more_bytes_than_the_limit_are_refused_and_leave_nothing_behind(
        backend: tuple[BlobStore, S3Server | None], bucket: str, run: Run[Any],
        size: int) -> None:
    store, s3 = backend
    with pytest.raises(BlobTooLarge):
        run(store.put("big", chunks_of(b"\x00" * (size + 1)), max_size=size))
    assert not run(store.exists("big"))
    assert leftovers(store, s3, bucket) == []
    assert run(store.put("exact", chunks_of(b"\x00" * size), max_size=size)).size == size


def test_a_blob_that_is_not_there_is_not_found_by_stat_get_or_delete(store: BlobStore,
                                                                     run: Run[Any]) -> None:
    with pytest.raises(BlobNotFound):
        run(store.stat("missing"))
    with pytest.raises(BlobNotFound):
        run(read_all(store, "missing"))
    assert not run(store.exists("missing"))
    assert run(store.delete("missing")) is False


def test_a_deleted_blob_is_gone_and_deleting_twice_is_not_an_error(store: BlobStore,
                                                                   run: Run[Any]) -> None:
    run(store.put("guest/d@1", chunks_of(b"bye")))
    assert run(store.delete("guest/d@1")) is True
    assert not run(store.exists("guest/d@1"))
    assert run(store.delete("guest/d@1")) is False


@pytest.mark.parametrize("key", [
    pytest.param("../escape", id="a parent segment"),
    pytest.param("/absolute", id="an absolute path"),
    pytest.param("a//b", id="an empty segment"),
    pytest.param(".hidden", id="a segment starting with a dot"),
    pytest.param("sp ace", id="a space"),
    pytest.param("", id="an empty key"),
])
def test_a_key_that_could_escape_the_store_is_refused_before_any_io(store: BlobStore,
                                                                    run: Run[Any],
                                                                    key: str) -> None:
    with pytest.raises(ValueError, match="blob key"):
        run(store.put(key, chunks_of(b"x")))
    with pytest.raises(ValueError, match="blob key"):
        run(store.stat(key))


def test_an_unreachable_s3_endpoint_is_unavailable_not_a_crash(run: Run[Any]) -> None:
    store = S3BlobStore("b", endpoint_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(BlobUnavailable, match="not reachable"):
        run(store.put("k", chunks_of(b"x")))
    run(store.close())


@pytest.mark.parametrize("location, kind", [
    pytest.param("/srv/blobs", LocalBlobStore, id="a folder path is the local store"),
    pytest.param("file:///srv/blobs", LocalBlobStore, id="a file URL is the local store"),
    pytest.param("s3://b?endpoint_url=http://h:1&region=eu-west-1", S3BlobStore,
                 id="an s3 URL with options is the S3 store"),
])
def test_open_blobs_picks_the_backend_from_the_location(location: str, kind: type) -> None:
    assert isinstance(open_blobs(location), kind)


@pytest.mark.parametrize("location, message", [
    pytest.param("ftp://host/x", "unknown blob store", id="an unknown scheme"),
    pytest.param("s3://b?secret=x", "unknown S3 option", id="an unknown S3 option"),
    pytest.param("s3://", "s3://BUCKET", id="an S3 URL without a bucket"),
])
def test_open_blobs_refuses_a_malformed_location(location: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        open_blobs(location)
