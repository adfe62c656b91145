"""``LocalBlobStore``: blobs as files under one folder (the embedded default, ``DATA/blobs``).

Layout: ``ROOT/data/<key>`` holds the bytes and ``ROOT/sha256/<key>`` their digest, so that
``stat`` need not re-read a 200 MB file. A write goes to a temporary file in ``ROOT/tmp`` and is
renamed into place (atomic on one file system) only after the digest and size checks passed;
a refused or interrupted write unlinks the temporary file. The digest file is written before
the data file is renamed, so a data file never exists without its digest.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from .exceptions import BlobNotFound, BlobTooLarge, BlobUnavailable, DigestMismatch
from .interface import CHUNK, BlobStat, BlobStore, check_key


class LocalBlobStore(BlobStore):
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalBlobStore({str(self.root)!r})"

    def _paths(self, key: str) -> tuple[Path, Path]:
        check_key(key)
        return self.root / "data" / key, self.root / "sha256" / key

    async def put(self, key: str, chunks: AsyncIterator[bytes], *, sha256: str | None = None,
                  max_size: int | None = None) -> BlobStat:
        data, digest_path = self._paths(key)
        try:
            (self.root / "tmp").mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=self.root / "tmp", prefix="put-")
        except OSError as exc:
            raise BlobUnavailable(f"cannot write under {self.root}: {exc}") from exc
        tmp = Path(tmp_name)
        try:
            digest, size = hashlib.sha256(), 0
            with os.fdopen(fd, "wb") as out:
                async for chunk in chunks:
                    size += len(chunk)
                    if max_size is not None and size > max_size:
                        raise BlobTooLarge(key, max_size)
                    digest.update(chunk)
                    out.write(chunk)
            actual = digest.hexdigest()
            if sha256 is not None and sha256.lower() != actual:
                raise DigestMismatch(key, sha256.lower(), actual)
            await asyncio.to_thread(self._commit, tmp, data, digest_path, actual)
        except OSError as exc:
            raise BlobUnavailable(f"cannot write {key!r} under {self.root}: {exc}") from exc
        finally:
            tmp.unlink(missing_ok=True)
        return BlobStat(key, size, actual)

    @staticmethod
    def _commit(tmp: Path, data: Path, digest_path: Path, digest: str) -> None:
        data.parent.mkdir(parents=True, exist_ok=True)
        digest_path.parent.mkdir(parents=True, exist_ok=True)
        digest_path.write_text(digest)
        os.replace(tmp, data)

    async def get(self, key: str, *, chunk_size: int = CHUNK) -> AsyncIterator[bytes]:
        data, _ = self._paths(key)
        try:
            handle = open(data, "rb")  # noqa: SIM115 - closed below, across yields
        except FileNotFoundError:
            raise BlobNotFound(key) from None
        except OSError as exc:
            raise BlobUnavailable(f"cannot read {key!r}: {exc}") from exc
        with handle:
            while chunk := await asyncio.to_thread(handle.read, chunk_size):
                yield chunk

    async def stat(self, key: str) -> BlobStat:
        data, digest_path = self._paths(key)
        try:
            size = data.stat().st_size
            return BlobStat(key, size, digest_path.read_text().strip())
        except FileNotFoundError:
            raise BlobNotFound(key) from None
        except OSError as exc:
            raise BlobUnavailable(f"cannot stat {key!r}: {exc}") from exc

    async def delete(self, key: str) -> bool:
        data, digest_path = self._paths(key)
        try:
            data.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise BlobUnavailable(f"cannot delete {key!r}: {exc}") from exc
        digest_path.unlink(missing_ok=True)
        return True
