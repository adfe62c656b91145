"""The blob store contract: bytes under a key, verified against their sha256 on arrival.

Why a stream interface: artifacts are models and data sets of hundreds of megabytes; neither
the controller nor a device may hold one whole in memory. ``put`` consumes an async iterator
of chunks and hashes it as it goes; the blob becomes visible under its key only once every
byte arrived and the digest (and the size limit) held, so a reader never sees a partial or
corrupt blob, and a refused write leaves nothing behind.

Keys are ``/``-separated segments of letters, digits, ``_ . @ % -`` (not starting with ``.``
or ``%``), as artifact ids (``ns/u1/glucose-model@3``, the namespace percent-quoted) are;
``check_key`` refuses anything else before a backend is touched, so a key can never name a
path outside a folder store.
"""

from __future__ import annotations

import abc
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

from .exceptions import BlobNotFound

CHUNK = 1024 * 1024
"""Chunk size of reads (and of S3 multipart buffering below)."""

_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@%-]{0,127}")
KEY_MAX = 1024


@dataclass(frozen=True)
class BlobStat:
    key: str
    size: int
    sha256: str


def check_key(key: str) -> str:
    """Return ``key`` if it is a valid blob key, else raise ``ValueError``."""
    if (not isinstance(key, str) or not key or len(key) > KEY_MAX
            or not all(_SEGMENT.fullmatch(part) for part in key.split("/"))):
        raise ValueError(f"blob key must be '/'-separated segments of letters, digits, "
                         f"'_', '.', '@', '%', '-' (not starting with '.'), got {key!r}")
    return key


class BlobStore(abc.ABC):
    """Bytes under keys. ``NAME`` is the store id recorded in an artifact's ``copies``."""

    NAME = "cloud"

    @abc.abstractmethod
    async def put(self, key: str, chunks: AsyncIterator[bytes], *, sha256: str | None = None,
                  max_size: int | None = None) -> BlobStat:
        """Store the chunks under ``key`` (replacing any blob there) and return its stat.

        ``sha256`` (lowercase hex), when given, must be the digest of the bytes, else
        ``DigestMismatch``; more than ``max_size`` bytes raise ``BlobTooLarge``. Either way
        nothing is left under ``key`` (a previous blob there is kept).
        """

    @abc.abstractmethod
    def get(self, key: str, *, chunk_size: int = CHUNK) -> AsyncIterator[bytes]:
        """The blob's bytes in chunks; ``BlobNotFound`` (on first iteration) if absent."""

    @abc.abstractmethod
    async def stat(self, key: str) -> BlobStat:
        """Size and sha256 of the blob; ``BlobNotFound`` if absent."""

    @abc.abstractmethod
    async def delete(self, key: str) -> bool:
        """Remove the blob; False if there was none (deleting twice is not an error)."""

    async def exists(self, key: str) -> bool:
        try:
            await self.stat(key)
        except BlobNotFound:
            return False
        return True

    async def close(self) -> None:  # noqa: B027 - most stores hold nothing to release
        """Release clients; idempotent."""
