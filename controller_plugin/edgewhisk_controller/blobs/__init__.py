"""Blob stores: artifact bytes behind one interface, verified against their sha256 on arrival.

``BlobStore`` (interface.py) is the contract; ``LocalBlobStore`` (local.py) is the embedded
default (a folder, ``DATA/blobs``) and ``S3BlobStore`` (s3.py, boto3 imported lazily) the
production backend; ``open_blobs`` (factory.py) picks one from ``--blobs``;
``LoggedBlobStore`` (logged.py) adds the access log the controller keeps for either. Errors:
exceptions.py. Device stores and the tunnel transfers build on the same interface later.
"""

from .exceptions import BlobError, BlobNotFound, BlobTooLarge, BlobUnavailable, DigestMismatch
from .factory import open_blobs
from .interface import CHUNK, BlobStat, BlobStore, check_key
from .local import LocalBlobStore
from .logged import LoggedBlobStore

__all__ = [
    "CHUNK",
    "BlobError",
    "BlobNotFound",
    "BlobStat",
    "BlobStore",
    "BlobTooLarge",
    "BlobUnavailable",
    "DigestMismatch",
    "LocalBlobStore",
    "LoggedBlobStore",
    "check_key",
    "open_blobs",
]
