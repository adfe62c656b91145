"""The controller's blob store access log (``LoggedBlobStore``) over both backends (the folder
and a real moto S3 server): one JSON line per put, completed get and remove, with the blob's
sha256 and size; refused puts and reads of missing blobs leave no line."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from edgewhisk_controller.blobs import (
    BlobNotFound,
    BlobStore,
    DigestMismatch,
    LoggedBlobStore,
    open_blobs,
)

from .conftest import Run

DATA = b"glucose-base bytes" * 1000
SHA = hashlib.sha256(DATA).hexdigest()


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), 4096):
        yield data[start:start + 4096]


def _lines(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


@pytest.fixture(params=["local", "s3"], ids=["over the folder store", "over S3"])
def logged(request: pytest.FixtureRequest, tmp_path: Path, bucket: str,
           run: Run[Any]) -> Iterator[LoggedBlobStore]:
    if request.param == "local":
        inner: BlobStore = open_blobs(tmp_path / "blobs")
    else:
        inner = open_blobs(request.getfixturevalue("s3_server").url(bucket))
    store = LoggedBlobStore(inner, tmp_path / "blobs-access.log")
    yield store
    run(store.close())


def test_put_get_and_remove_are_logged_with_digest_and_size(logged: LoggedBlobStore,
                                                            run: Run[Any]) -> None:
    key = "guest/glucose-base@1"
    run(logged.put(key, _chunks(DATA), sha256=SHA))

    async def read() -> bytes:
        return b"".join([c async for c in logged.get(key)])

    assert run(read()) == DATA
    assert run(logged.delete(key)) is True
    assert run(logged.delete(key)) is False  # nothing there: no line
    lines = _lines(logged.log)
    assert [(x["op"], x["key"], x["sha256"], x["size"], x["by"]) for x in lines] == [
        (op, key, SHA, len(DATA), "controller") for op in ("put", "get", "remove")]
    assert logged.NAME == "cloud"


def test_refused_puts_and_missing_reads_leave_no_line(logged: LoggedBlobStore,
                                                      run: Run[Any]) -> None:
    with pytest.raises(DigestMismatch):
        run(logged.put("guest/u1/glucose@1", _chunks(DATA), sha256="0" * 64))

    async def read() -> list[bytes]:
        return [c async for c in logged.get("guest/u1/glucose@1")]

    with pytest.raises(BlobNotFound):
        run(read())
    assert _lines(logged.log) == []
