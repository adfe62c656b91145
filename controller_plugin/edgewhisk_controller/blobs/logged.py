"""``LoggedBlobStore``: any blob store, with one JSON line per access in an access log.

Why: the controller's blob store is where a ``cloud`` artifact's bytes live and where a
``local`` one's must never arrive. Each node store already logs its accesses
(``edgewhisk_runtime.artifacts.store``); with the blob store logging the same way
(``{"ts", "op": "put|get|remove", "key", "sha256", "size", "by"}``), tests and operators can
say from the logs alone where every byte went. A wrapper, not a backend feature, so the local
folder and S3 log alike and a backend stays about storing bytes.

Only what happened is logged: a refused put (digest, size) and a read of a missing blob
leave no line; a read is logged once its last chunk was served.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

from .exceptions import BlobNotFound
from .interface import CHUNK, BlobStat, BlobStore


class LoggedBlobStore(BlobStore):
    """``inner`` with an access log at ``log``; ``by`` names the store in each line."""

    def __init__(self, inner: BlobStore, log: Path, *, by: str = "controller") -> None:
        self.inner = inner
        self.log = Path(log)
        self.by = by
        self.NAME = inner.NAME
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LoggedBlobStore({self.inner!r}, log={str(self.log)!r})"

    def _record(self, op: str, key: str, sha256: str, size: int) -> None:
        line = json.dumps({"ts": time.time(), "op": op, "key": key, "sha256": sha256,
                           "size": size, "by": self.by})
        with self._lock:
            self.log.parent.mkdir(parents=True, exist_ok=True)
            with open(self.log, "a") as f:
                f.write(line + "\n")

    async def put(self, key: str, chunks: AsyncIterator[bytes], *, sha256: str | None = None,
                  max_size: int | None = None) -> BlobStat:
        stat = await self.inner.put(key, chunks, sha256=sha256, max_size=max_size)
        self._record("put", key, stat.sha256, stat.size)
        return stat

    async def get(self, key: str, *, chunk_size: int = CHUNK) -> AsyncIterator[bytes]:
        stat = await self.inner.stat(key)  # BlobNotFound on the first iteration, as promised
        async for chunk in self.inner.get(key, chunk_size=chunk_size):
            yield chunk
        self._record("get", key, stat.sha256, stat.size)

    async def stat(self, key: str) -> BlobStat:
        return await self.inner.stat(key)

    async def delete(self, key: str) -> bool:
        try:
            stat: BlobStat | None = await self.inner.stat(key)
        except BlobNotFound:
            stat = None
        deleted = await self.inner.delete(key)
        if deleted and stat is not None:
            self._record("remove", key, stat.sha256, stat.size)
        return deleted

    async def close(self) -> None:
        await self.inner.close()
