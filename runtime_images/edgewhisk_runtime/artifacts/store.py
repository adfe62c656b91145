"""The node store: the artifacts one invoker (an edge device or the controller's own pool) holds.

Why: a run's consumed artifacts must be local files before the action starts, produced ones
must stay where the locality rules say, and a device has a fixed disk budget. The store keeps
canonical blobs (:mod:`.canonical`) keyed by registry key ``ns/name@version`` under one root:

    ROOT/index.json      entries in least-recently-used order (rewritten atomically)
    ROOT/blobs/H         the canonical blob of a key (H: a hash of the key, never a path)
    ROOT/trees/H/        a folder artifact unpacked once, on first :meth:`NodeStore.path`
    ROOT/tmp/            scratch on the same file system: fetch into it so that moving a
                         blob in is a rename (emptied when a store opens)
    ROOT/access.log      one JSON line per put/get/evict/remove (default log location)

The byte budget counts blob sizes. Adding evicts least recently used *unpinned* entries
(caches fetched from elsewhere); pinned ones (the original of a ``local``/``network:``
artifact, or one produced here) are never evicted — when they leave no room the add is
refused (:class:`StoreFull`) and the store is left as it was. A blob whose bytes do not match
the announced sha256/size is refused (:class:`DigestMismatch`), store unchanged as well; in
both cases the caller keeps its file.

Index updates are guarded by one thread lock so that the slow parts (hashing, unpacking)
may run in worker threads while the event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from edgewhisk_runtime.artifacts.canonical import (
    digest,
    is_folder_format,
    unpack,
    write_blob,
)
from edgewhisk_runtime.exceptions import ArtifactNotFound, DigestMismatch, StoreFull

INDEX_VERSION = 1


@dataclass(frozen=True)
class Entry:
    """One stored artifact: its canonical blob's digest and how the store treats it."""

    key: str
    sha256: str
    size: int
    format: str
    kind: str
    locality: str
    pinned: bool
    last_used: float


_UNITS = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
          "KI": 2**10, "MI": 2**20, "GI": 2**30, "TI": 2**40}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]I?)?B?\s*", re.IGNORECASE)


def parse_size(text: str) -> int:
    """A store's byte budget from ``2GB`` (10**9 bytes a GB), ``512MiB`` (2**20 a MiB),
    ``1.5G`` or a plain number of bytes; ``ValueError`` for anything else or zero. The one
    reading of sizes, so ``--store-cap`` (an edge agent) and ``--node-store-cap`` (the
    controller's own invokers) mean the same by ``2GB``."""
    match = _SIZE.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a size (e.g. 2GB, 512MiB, 1000000)")
    size = int(float(match.group(1)) * _UNITS[(match.group(2) or "").upper()])
    if size <= 0:
        raise ValueError(f"{text!r} is not a positive size")
    return size


def _name(key: str) -> str:
    """File name of a key's blob/tree: a hash, so no key can reach outside the store."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]


class NodeStore:
    """Artifacts of one invoker under ``root`` within ``capacity_bytes`` (see module doc)."""

    def __init__(self, root: Path, *, capacity_bytes: int, by: str,
                 log: Path | None = None) -> None:
        self.root = root
        self.capacity_bytes = capacity_bytes
        self.by = by
        self.log = log if log is not None else root / "access.log"
        self.on_change: Callable[[], None] | None = None
        self.blobs, self.trees, self.tmp = root / "blobs", root / "trees", root / "tmp"
        for folder in (self.blobs, self.trees, self.tmp):
            folder.mkdir(parents=True, exist_ok=True)
        self._index_file = root / "index.json"
        self._lock = threading.RLock()
        self._entries: dict[str, Entry] = {}  # least recently used first
        self._leases: collections.Counter[str] = collections.Counter()  # keys in use
        self._load()

    @contextlib.contextmanager
    def lease(self, keys: Iterable[str]) -> Iterator[None]:
        """While the block runs, ``keys`` are not evicted (a run reads their paths, an outgoing
        transfer their blobs); leases nest and count. Adding that would need their room fails
        with ``StoreFull`` like a pinned entry would."""
        held = list(keys)
        with self._lock:
            self._leases.update(held)
        try:
            yield
        finally:
            with self._lock:
                self._leases.subtract(held)
                self._leases += collections.Counter()  # drop zero counts

    # ---- reading -------------------------------------------------------------------------

    @property
    def used_bytes(self) -> int:
        with self._lock:
            return sum(e.size for e in self._entries.values())

    def keys(self) -> list[str]:
        """Every stored key, sorted (what an invoker reports as its cached set)."""
        with self._lock:
            return sorted(self._entries)

    def entries(self) -> list[Entry]:
        """Every entry, least recently used first (no LRU touch)."""
        with self._lock:
            return list(self._entries.values())

    def get(self, key: str) -> Entry | None:
        """The entry under ``key`` (marking it most recently used), or None."""
        with self._lock:
            entry = self._entries.get(key)
            return None if entry is None else self._touch(entry)

    def peek(self, key: str) -> Entry | None:
        """The entry under ``key`` without marking it used (no index rewrite), or None."""
        with self._lock:
            return self._entries.get(key)

    def path(self, key: str) -> Path:
        """The artifact as an action uses it: the blob file, or the folder unpacked once.

        Blocking (a first unpack may take a while): call it from a worker thread in async
        code (``asyncio.to_thread``)."""
        entry = self._require(key)
        blob = self.blobs / _name(key)
        if not is_folder_format(entry.format):
            self._record("get", entry)
            return blob
        tree = self.trees / _name(key)
        if not tree.is_dir():
            scratch = Path(tempfile.mkdtemp(dir=self.tmp, prefix="tree-"))
            unpack(blob, scratch / "t", max_bytes=max(entry.size, 1))
            try:
                os.replace(scratch / "t", tree)
            except OSError:  # another thread unpacked it first
                if not tree.is_dir():
                    raise
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
        self._record("get", entry)
        return tree

    def open_blob(self, key: str) -> tuple[Entry, Path]:
        """The entry and its canonical blob file, to send elsewhere (logged as a get)."""
        entry = self._require(key)
        self._record("get", entry)
        return entry, self.blobs / _name(key)

    # ---- changing ------------------------------------------------------------------------

    async def add_blob(self, key: str, blob_file: Path, *, sha256: str, size: int, format: str,
                       kind: str, locality: str, pinned: bool) -> Entry:
        """Verify ``blob_file`` against ``sha256``/``size`` and move it in under ``key``.

        Raises DigestMismatch or StoreFull with the store (and ``blob_file``) unchanged."""
        got_size, got_sha = await asyncio.to_thread(digest, blob_file)
        if (got_size, got_sha) != (size, sha256):
            raise DigestMismatch(f"artifact '{key}': blob has {got_size} bytes sha256 {got_sha}, "
                                 f"expected {size} bytes sha256 {sha256}; not stored")
        return self._admit(key, blob_file, sha256, size, format, kind, locality, pinned)

    async def ingest(self, key: str, path: Path, *, format: str, kind: str, locality: str,
                     pinned: bool) -> Entry:
        """Store a produced file or folder under ``key`` as its canonical blob."""
        fd, name = tempfile.mkstemp(dir=self.tmp, prefix="ingest-")
        os.close(fd)
        blob = Path(name)
        try:
            size, sha = await asyncio.to_thread(write_blob, path, blob)
            return self._admit(key, blob, sha, size, format, kind, locality, pinned)
        finally:
            blob.unlink(missing_ok=True)

    def rename(self, key: str, new_key: str) -> Entry:
        """Keep the entry of ``key`` under ``new_key`` (same blob, same pin): an artifact a
        device produced cut off gets its registry version once the controller allocated it.
        ``ArtifactNotFound`` when ``key`` is not here; an entry already under ``new_key``
        (a rename repeated after a crash) is replaced."""
        with self._lock:
            entry = self._entries.pop(key, None)
            if entry is None:
                raise ArtifactNotFound(f"artifact '{key}' is not in the store of {self.by}")
            old = self._entries.pop(new_key, None)
            if old is not None:
                self._drop_files(new_key)
            os.replace(self.blobs / _name(key), self.blobs / _name(new_key))
            shutil.rmtree(self.trees / _name(key), ignore_errors=True)
            renamed = replace(entry, key=new_key)
            self._entries[new_key] = renamed
            self._save()
            self._record("rename", renamed)
        self._changed()
        return renamed

    def remove(self, key: str) -> None:
        """Drop ``key`` (pinned or not); unknown keys are ignored."""
        with self._lock:
            entry = self._entries.pop(key, None)
            if entry is None:
                return
            self._drop_files(key)
            self._save()
            self._record("remove", entry)
        self._changed()

    # ---- internals -----------------------------------------------------------------------

    def _admit(self, key: str, blob_file: Path, sha256: str, size: int, fmt: str, kind: str,
               locality: str, pinned: bool) -> Entry:
        with self._lock:
            old = self._entries.get(key)
            if old is not None and old.sha256 == sha256:
                pinned = pinned or old.pinned
            victims = self._victims(key, size)
            for victim in victims:
                del self._entries[victim.key]
                self._drop_files(victim.key)
                self._record("evict", victim)
            if old is not None:
                self._entries.pop(key)
                shutil.rmtree(self.trees / _name(key), ignore_errors=True)
            dest = self.blobs / _name(key)
            shutil.move(blob_file, dest)
            dest.chmod(0o444)
            entry = Entry(key, sha256, size, fmt, kind, locality, pinned, time.time())
            self._entries[key] = entry
            self._save()
            self._record("put", entry)
        self._changed()
        return entry

    def _victims(self, key: str, size: int) -> list[Entry]:
        """LRU unpinned entries to evict so ``size`` more bytes fit, or StoreFull (nothing done)."""
        others = [e for e in self._entries.values() if e.key != key]
        free = self.capacity_bytes - sum(e.size for e in others)
        victims: list[Entry] = []
        for entry in others:
            if free >= size:
                break
            if not entry.pinned and not self._leases[entry.key]:
                victims.append(entry)
                free += entry.size
        if free < size:
            pinned = sum(e.size for e in others if e.pinned)
            leased = sum(e.size for e in others if not e.pinned and self._leases[e.key])
            raise StoreFull(f"artifact '{key}' needs {size} bytes but the store of {self.by} "
                            f"has a capacity of {self.capacity_bytes} bytes and pinned "
                            f"artifacts hold {pinned} bytes"
                            + (f", artifacts in use {leased} more" if leased else "")
                            + "; nothing was evicted or stored")
        return victims

    def _require(self, key: str) -> Entry:
        entry = self.get(key)
        if entry is None:
            raise ArtifactNotFound(f"artifact '{key}' is not in the store of {self.by}")
        return entry

    def _touch(self, entry: Entry) -> Entry:
        touched = replace(entry, last_used=time.time())
        del self._entries[entry.key]
        self._entries[entry.key] = touched
        self._save()
        return touched

    def _drop_files(self, key: str) -> None:
        (self.blobs / _name(key)).unlink(missing_ok=True)
        shutil.rmtree(self.trees / _name(key), ignore_errors=True)

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def _record(self, op: str, entry: Entry) -> None:
        line = json.dumps({"ts": time.time(), "op": op, "key": entry.key,
                           "sha256": entry.sha256, "size": entry.size, "by": self.by})
        with self._lock, open(self.log, "a") as f:
            f.write(line + "\n")

    def _save(self) -> None:
        data = {"version": INDEX_VERSION, "entries": [asdict(e) for e in self._entries.values()]}
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".index-")
        with os.fdopen(fd, "w") as f:
            json.dump(data, f)
        os.replace(tmp, self._index_file)

    def _load(self) -> None:
        """Read the index back; drop entries whose blob is gone and files no entry owns."""
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp.mkdir()
        if self._index_file.exists():
            data: dict[str, Any] = json.loads(self._index_file.read_text())
            for raw in data.get("entries", []):
                entry = Entry(**raw)
                if (self.blobs / _name(entry.key)).is_file():
                    self._entries[entry.key] = entry
        owned = {_name(k) for k in self._entries}
        for folder in (self.blobs, self.trees):
            for item in folder.iterdir():
                if item.name not in owned:
                    shutil.rmtree(item) if item.is_dir() else item.unlink()
