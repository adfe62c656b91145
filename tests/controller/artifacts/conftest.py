"""Fixtures of the artifact tests: a real S3 API (moto's standalone server), a fresh event
loop per test (``run``), and stores of each backend.

The moto server (the devkit's launcher) runs as a child process on a free port for the whole
session and is stopped by its pid; each test gets a bucket of its own (``s3_url``), so tests
never see each other's blobs. boto3 reads credentials from the environment: the launcher sets
dummy ones (moto accepts any) for this process and for controllers the tests start.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from edgewhisk_controller.artifacts import ArtifactRegistry
from edgewhisk_controller.blobs import LocalBlobStore
from edgewhisk_controller.stores import open_store
from edgewhisk_devkit import S3

T = TypeVar("T")
Run = Callable[[Awaitable[T]], T]


@dataclass(frozen=True)
class S3Server:
    endpoint: str

    def url(self, bucket: str) -> str:
        """A ``--blobs`` URL for ``bucket`` on this server."""
        return f"s3://{bucket}?endpoint_url={self.endpoint}"

    def objects(self, bucket: str) -> list[str]:
        """Every key in ``bucket`` (complete objects; multipart parts are not objects)."""
        import boto3

        client = boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1")
        try:
            pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            return [obj["Key"] for page in pages for obj in page.get("Contents", [])]
        finally:
            client.close()

    def uploads(self, bucket: str) -> list[str]:
        """Multipart uploads still open in ``bucket`` (an aborted one is gone)."""
        import boto3

        client = boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1")
        try:
            return [u["Key"] for u in client.list_multipart_uploads(Bucket=bucket)
                    .get("Uploads", [])]
        finally:
            client.close()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with S3(tmp_path_factory.mktemp("moto")) as server:  # sets dummy AWS_* for boto3
        yield S3Server(server.url)


@pytest.fixture
def bucket() -> str:
    return f"t{uuid.uuid4().hex[:16]}"


@pytest.fixture
def run() -> Iterator[Run[Any]]:
    loop = asyncio.new_event_loop()
    yield loop.run_until_complete
    loop.close()


async def body(data: bytes) -> AsyncIterator[bytes]:
    """``data`` as the one-chunk content stream ``ArtifactRegistry.create`` takes."""
    yield data


@pytest.fixture(params=["sqlite", "couchdb"])
def empty_registry(request: pytest.FixtureRequest, tmp_path: Path,
                   run: Run[Any]) -> Iterator[ArtifactRegistry]:
    """A registry on a fresh store (a SQLite file, or CouchDB databases under a fresh prefix
    on pouchdb-server) with a folder blob store; closed and dropped afterwards."""
    prefix = ""
    if request.param == "sqlite":
        location = str(tmp_path / "state")
    else:
        server = request.getfixturevalue("couchdb_server")
        prefix = f"t{uuid.uuid4().hex[:12]}_"
        location = f"{server.url}/?prefix={prefix}"
    store = open_store(location)
    registry = ArtifactRegistry(store, LocalBlobStore(tmp_path / "blobs"), max_size=1 << 20)
    yield registry
    run(registry.close())
    run(store.close())
    if prefix:
        request.getfixturevalue("couchdb_server").drop_databases(prefix)
