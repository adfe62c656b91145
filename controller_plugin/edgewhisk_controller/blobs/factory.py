"""``open_blobs``: the one place a ``--blobs`` string becomes a blob store."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from .interface import BlobStore
from .local import LocalBlobStore


def open_blobs(location: str | Path) -> BlobStore:
    """A folder path (or ``file:///path``) -> ``LocalBlobStore``; ``s3://bucket?...`` -> S3.

    Nothing is opened until the first call; boto3 is imported only for an S3 location.
    """
    if isinstance(location, Path):
        return LocalBlobStore(location)
    parts = urlsplit(location)
    if parts.scheme == "s3":
        from .s3 import S3BlobStore

        return S3BlobStore.from_url(location)
    if parts.scheme == "file":
        return LocalBlobStore(Path(parts.path))
    if parts.scheme == "" and location:
        return LocalBlobStore(Path(location))
    raise ValueError(f"unknown blob store {location!r}: use a folder, file:///path or s3://bucket")
