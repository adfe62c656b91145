"""Errors of the blob stores.

Hierarchy::

    BlobError               anything a blob store could not do
    ├── BlobNotFound        no blob under that key
    ├── DigestMismatch      the bytes that arrived do not hash to the sha256 announced
    ├── BlobTooLarge        the bytes that arrived exceed the size limit of the write
    └── BlobUnavailable     the backend cannot be reached (S3 endpoint down, folder unwritable)

Backends translate their own errors (``OSError``, botocore's) into these once, at their
boundary; the controller's error middleware maps them to HTTP. A failed write leaves nothing
behind under the key (the contract tests check it).
"""

from __future__ import annotations


class BlobError(Exception):
    """Base class of every blob store error."""


class BlobNotFound(BlobError):
    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"no blob {key!r}")


class DigestMismatch(BlobError):
    def __init__(self, key: str, expected: str, actual: str) -> None:
        self.key, self.expected, self.actual = key, expected, actual
        super().__init__(f"the content of {key!r} has sha256 {actual}, not the {expected} "
                         "announced; nothing was stored")


class BlobTooLarge(BlobError):
    def __init__(self, key: str, limit: int) -> None:
        self.key, self.limit = key, limit
        super().__init__(f"the content of {key!r} exceeds the limit of {limit} bytes; "
                         "nothing was stored")


class BlobUnavailable(BlobError):
    """The backend cannot be reached or written right now."""
