"""The artifact registry: metadata documents in the store, bytes in the blob store.

One document per version in collection ``artifacts``, ``_id`` = ``ns/name@version``::

    {namespace, name, version, kind: model|data, format, size, sha256, created_by,
     lineage: {model, data}, locality: local|network:NAME|cloud, owner,
     copies: [store ids: "cloud" (the blob store) or invoker ids], metadata: {type,
     trained_on, input, training_reference, ...}, metrics: {accuracy, robustness, bias:
     {attr: v}, drift: {...}}, status: ok|gated, gates: [verdicts], created (epoch ms), type,
     trained_on}

``status`` is ``gated`` for a version a validator gate held back when it was produced (its
``gates`` hold the verdicts that say why; ``artifacts/gates.py``): "the latest version"
(``get`` without a version, hence every bound ref such as ``{usr}/glucose-model``, and preload)
and every selector skip it, while ``name@version`` still finds it. ``gates`` also collects the
firings of drift gates on the version (the last ``MAX_VERDICTS``).

``type`` and ``trained_on`` are copied from ``metadata`` to the top level because store
filters compare top-level fields only. Versions are monotonic per name: a counter document
(``artifact_names``, ``_id`` = ``ns/name``, ``last``) is bumped with ``stores.update``, whose
optimistic concurrency gives concurrent writers (tasks or controllers on one CouchDB) distinct
numbers. A version whose content is refused (digest, size) leaves a gap, never a reuse. The
counter also pins the name's ``kind``: a model cannot gain a data version.

Selector resolution goes through an in-memory ``SelectorIndex`` of each namespace's models,
loaded from the store on first use and kept current by this registry's own writes. With
several controllers on one store working as one (``--cluster-redis``), each also follows the
others' writes through CouchDB's changes feed (:meth:`ArtifactRegistry.changed`); without
that, each index sees only its own writes after loading.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from edgewhisk import AnnotationError

from ..background import Tasks
from ..blobs import BlobStat, BlobStore, BlobTooLarge, DigestMismatch
from ..schema.entity import now_ms
from ..stores import Doc, Store, update
from ..stores import NotFound as StoreNotFound
from ..stores.interface import get_or_none
from . import locality as rules
from . import selectors
from .exceptions import ArtifactNotFound, ArtifactTooLarge, InvalidArtifact, NoMatchingVersion
from .keys import blob_key, check_name, doc_id

log = logging.getLogger(__name__)

ARTIFACTS = "artifacts"
NAMES = "artifact_names"
HOLDINGS = "artifact_holdings"
KINDS = ("model", "data")
OK = "ok"
GATED = selectors.GATED
MAX_VERDICTS = 20
FORMAT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}")
SHA256 = re.compile(r"[0-9a-f]{64}")
INDEXED = ("type", "trained_on")


@dataclass
class NewArtifact:
    """What an upload (or a device's registration) says about a new version."""

    name: str
    kind: str
    owner: str
    locality: str = rules.CLOUD
    format: str = "bytes"
    sha256: str | None = None
    size: int | None = None
    held_by: str | None = None
    created_by: str | None = None
    lineage: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    status: str = OK
    gates: list[dict[str, Any]] = field(default_factory=list)  # the verdicts on it

    def check(self, *, has_content: bool) -> None:
        """An upload's or a registration's fields, and whether its bytes may come along."""
        self.check_fields()
        rules.check_upload(self.name, self.locality, has_content=has_content)
        if not has_content:
            missing = [k for k in ("held_by", "sha256", "size") if getattr(self, k) is None]
            if missing:
                raise InvalidArtifact(
                    f"artifact {self.name}: without content, give {', '.join(missing)} "
                    "(the device holding it registers its metadata)")

    def check_fields(self) -> None:
        check_name(self.name)
        if self.kind not in KINDS:
            raise InvalidArtifact(f"kind: {self.kind!r} must be 'model' or 'data'")
        rules.check_locality(self.locality)
        if not FORMAT.fullmatch(self.format):
            raise InvalidArtifact(f"format: {self.format!r} is not a format name (e.g. npz)")
        if self.sha256 is not None and not SHA256.fullmatch(self.sha256):
            raise InvalidArtifact(f"sha256: {self.sha256!r} must be 64 lowercase hex digits")
        for what in ("lineage", "metadata", "metrics"):
            if not isinstance(getattr(self, what), dict):
                raise InvalidArtifact(f"{what}: must be a JSON object")


def _document(ns: str, version: int, new: NewArtifact, *, size: int | None,
              sha256: str | None, copies: list[Any]) -> Doc:
    meta = dict(new.metadata)
    return {
        "_id": doc_id(ns, new.name, version), "namespace": ns, "name": new.name,
        "version": version, "kind": new.kind, "format": new.format, "size": size,
        "sha256": sha256, "created_by": new.created_by, "lineage": new.lineage,
        "locality": new.locality, "owner": new.owner, "copies": copies, "metadata": meta,
        "metrics": new.metrics, "status": new.status, "gates": new.gates, "created": now_ms(),
        **{k: meta[k] for k in INDEXED if isinstance(meta.get(k), str)},
    }


class ArtifactRegistry:
    """Artifact metadata (store) and content (blob store ``blobs``, the ``cloud`` copy)."""

    def __init__(self, store: Store, blobs: BlobStore, *, max_size: int) -> None:
        self.store, self.blobs, self.max_size = store, blobs, max_size
        self._index = selectors.SelectorIndex()
        self._loaded: set[str] = set()
        self._locks: dict[str, asyncio.Lock] = {}
        self._copying = Tasks("artifact copies")  # ``follow``'s updates in flight
        self._holdings: dict[str, frozenset[str]] = {}  # invoker id -> keys it last held
        self._listeners: list[Callable[[Doc], None]] = []

    def listen(self, listener: Callable[[Doc], None]) -> None:
        """Call ``listener`` with every new version's document once it is stored (data-growth
        triggers count them: ``dispatch/growth.py``); it must not block."""
        self._listeners.append(listener)

    async def create(self, ns: str, new: NewArtifact,
                     content: AsyncIterator[bytes] | None = None) -> Doc:
        """Register a new version (storing ``content`` in the blob store) and return it."""
        new.check(has_content=content is not None)
        version = await self._allocate(ns, new.name, new.kind)
        stat: BlobStat | None = None
        if content is not None:
            key = blob_key(ns, new.name, version)
            try:
                stat = await self.blobs.put(key, content, sha256=new.sha256,
                                            max_size=self.max_size)
            except DigestMismatch as exc:
                raise InvalidArtifact(
                    f"artifact {new.name}: the content has sha256 {exc.actual}, not the "
                    f"{exc.expected} announced; nothing was stored") from None
            except BlobTooLarge:
                raise ArtifactTooLarge(
                    f"artifact {new.name}: the content exceeds the limit of {self.max_size} "
                    "bytes; nothing was stored") from None
            if new.size is not None and stat.size != new.size:  # a chunked upload's length
                await self.blobs.delete(stat.key)
                raise InvalidArtifact(f"size: {new.size} bytes announced, but the content has "
                                      f"{stat.size}; nothing was stored")
        doc = _document(ns, version, new, size=stat.size if stat else new.size,
                        sha256=stat.sha256 if stat else new.sha256,
                        copies=[self.blobs.NAME] if stat else [new.held_by])
        try:
            return await self._put(ns, doc)
        except BaseException:
            if stat is not None:
                await self.blobs.delete(stat.key)
            raise

    async def allocate(self, ns: str, name: str, kind: str) -> int:
        """Reserve the next version of ``name`` (a produced artifact's, before its run).

        The version's document is written by ``add_version`` once the bytes exist; a run that
        never produces them leaves a gap, never a reuse.
        """
        check_name(name)
        if kind not in KINDS:
            raise InvalidArtifact(f"kind: {kind!r} must be 'model' or 'data'")
        return await self._allocate(ns, name, kind)

    async def add_version(self, ns: str, version: int, new: NewArtifact, *,
                          copies: list[str]) -> Doc:
        """The document of an ``allocate``d version whose bytes are already kept where
        ``copies`` says (an invoker's store, the blob store): a produced artifact."""
        new.check_fields()
        if new.sha256 is None or new.size is None:
            raise InvalidArtifact(f"artifact {new.name}: a produced version needs its sha256 "
                                  "and size")
        return await self._put(ns, _document(ns, version, new, size=new.size,
                                             sha256=new.sha256, copies=copies))

    async def _put(self, ns: str, doc: Doc) -> Doc:
        doc["_rev"] = await self.store.put(ARTIFACTS, doc)
        if doc["kind"] == "model":
            async with self._lock(ns):
                if ns in self._loaded:
                    self._index.add(doc)
        for listener in self._listeners:
            listener(doc)
        return doc

    async def _allocate(self, ns: str, name: str, kind: str) -> int:
        def bump(counter: Doc) -> Doc:
            if counter.get("kind", kind) != kind:
                raise InvalidArtifact(f"artifact {name} is a {counter['kind']}; a new version "
                                      f"cannot be a {kind}")
            counter["kind"] = kind
            counter["last"] = int(counter.get("last", 0)) + 1
            return counter

        counter = await update(self.store, NAMES, f"{ns}/{name}", bump,
                               default={"namespace": ns, "name": name}, retries=64)
        return int(counter["last"])

    async def get(self, ns: str, name: str, version: int | None = None) -> Doc:
        """One version, or the latest that is not ``gated`` when ``version`` is None (404
        naming it)."""
        check_name(name)
        if version is None:
            return await self._current(ns, name)
        try:
            return await self.store.get(ARTIFACTS, doc_id(ns, name, version))
        except StoreNotFound:
            raise ArtifactNotFound(f"no version {version} of artifact {name} in namespace "
                                   f"{ns!r}") from None

    async def _current(self, ns: str, name: str, page: int = 20) -> Doc:
        held: list[int] = []
        while True:
            docs = await self.versions(ns, name, limit=page, skip=len(held))
            for doc in docs:
                if doc.get("status") != GATED:
                    return doc
                held.append(int(doc["version"]))
            if len(docs) < page:
                break
        if not held:
            raise ArtifactNotFound(f"no artifact {name} in namespace {ns!r}")
        raise ArtifactNotFound(
            f"artifact {name} in namespace {ns!r} has no current version: every version "
            f"({', '.join(map(str, sorted(held)))}) is held back by its gates (status gated); "
            f"pin one as {name}@{max(held)}")

    async def made_by(self, ns: str, name: str, activation_id: str) -> Doc | None:
        """The version of ``name`` that activation ``activation_id`` produced, if registered
        (a device's offline record delivered twice registers its artifacts once)."""
        check_name(name)
        found = await self.store.list(ARTIFACTS, prefix=f"{ns}/{name}@",
                                      filters={"created_by": activation_id}, limit=1)
        return found[0] if found else None

    async def add_copy(self, key: str, copy: str) -> Doc:
        """``copy`` (a store id: ``cloud`` or an invoker) now holds the bytes of ``key``."""
        def add(doc: Doc) -> Doc:
            doc["copies"] = [*(c for c in doc.get("copies", []) if c != copy), copy]
            return doc

        return await update(self.store, ARTIFACTS, key, add)

    async def add_verdicts(self, key: str, verdicts: list[dict[str, Any]]) -> None:
        """Append gate verdicts (a drift gate's firing) to the version ``key`` (the last
        ``MAX_VERDICTS`` are kept); a version deleted meanwhile is left alone."""
        def append(doc: Doc) -> Doc:
            doc["gates"] = [*(doc.get("gates") or []), *verdicts][-MAX_VERDICTS:]
            return doc

        try:
            await update(self.store, ARTIFACTS, key, append)
        except StoreNotFound:
            return

    async def versions(self, ns: str, name: str, *, limit: int | None = None,
                       skip: int = 0) -> list[Doc]:
        """Every version of ``name``, newest first."""
        check_name(name)
        return await self.store.list(ARTIFACTS, prefix=f"{ns}/{name}@", sort="version",
                                     descending=True, limit=limit, skip=skip)

    async def list(self, ns: str, filters: Mapping[str, str], *, limit: int,
                   skip: int) -> list[Doc]:
        """Versions in ``ns`` whose top-level fields equal ``filters``, newest first."""
        return await self.store.list(ARTIFACTS, prefix=f"{ns}/", filters=dict(filters),
                                     sort="created", descending=True, limit=limit, skip=skip)

    async def delete(self, ns: str, name: str, version: int) -> Doc:
        """Forget a version and drop its cloud copy; its number is never reused."""
        doc = await self.get(ns, name, version)
        await self.store.delete(ARTIFACTS, doc["_id"], doc["_rev"])
        if self.blobs.NAME in doc.get("copies", []):
            await self.blobs.delete(blob_key(ns, name, version))
        async with self._lock(ns):
            self._index.remove(doc)
        return doc

    async def content(self, ns: str, name: str,
                      version: int | None) -> tuple[Doc, BlobStat, AsyncIterator[bytes]]:
        """The version, its blob's stat and its bytes — if its locality lets them leave."""
        doc = await self.get(ns, name, version)
        rules.check_download(doc)
        key = blob_key(ns, name, doc["version"])
        stat = await self.blobs.stat(key)  # BlobNotFound -> 404 before anything is sent
        return doc, stat, self.blobs.get(key)

    async def resolve(self, ns: str, raw_selector: Any) -> Doc:
        """The one model version the selector picks; ``NoMatchingVersion`` with candidates."""
        try:
            selector = selectors.parse(raw_selector)
        except AnnotationError as exc:
            raise InvalidArtifact(f"{exc.path}: {exc.reason}") from None
        await self._load(ns)
        outcome = self._index.resolve(ns, selector)
        if isinstance(outcome, selectors.NoMatch):
            raise NoMatchingVersion(outcome.message(ns),
                                    [c.describe() for c in outcome.candidates])
        return outcome.doc

    async def changed(self, doc: Doc) -> None:
        """A version written (or deleted) by any controller on the store, from the changes
        feed: the index of a loaded namespace follows (an older revision never replaces a
        newer one: CouchDB's revision numbers order them)."""
        if doc.get("_deleted"):
            self._index.discard(str(doc["_id"]))
            return
        ns = doc.get("namespace")
        if doc.get("kind") != "model" or not isinstance(ns, str):
            return
        async with self._lock(ns):
            if ns in self._loaded:
                self._index.add(doc)

    async def _load(self, ns: str) -> None:
        if ns in self._loaded:
            return
        async with self._lock(ns):
            if ns in self._loaded:
                return
            for doc in await self.store.list(ARTIFACTS, prefix=f"{ns}/",
                                             filters={"kind": "model"}):
                self._index.add(doc)
            self._loaded.add(ns)

    def _lock(self, ns: str) -> asyncio.Lock:
        return self._locks.setdefault(ns, asyncio.Lock())

    def follow(self, invoker_id: str, now: Iterable[str], *,
               namespace: str | None = None) -> None:
        """Invoker ``invoker_id`` now holds the versions ``now`` in its node store: their
        ``copies`` follow, in the background (a report never waits on the store; a failed
        update is repaired by the next report). ``namespace``: only keys of that namespace are
        the invoker's business (an edge device's token namespace).

        What an invoker held last is persisted (``artifact_holdings``), so the first report
        after a controller restart also drops the copies it lost meanwhile; reports of one
        invoker are applied in order."""
        self._copying.spawn(self._follow(invoker_id, frozenset(now), namespace))

    async def _follow(self, invoker_id: str, now: frozenset[str],
                      namespace: str | None) -> None:
        async with self._lock(f"holder:{invoker_id}"):
            before = self._holdings.get(invoker_id)
            if before is None:
                saved = await get_or_none(self.store, HOLDINGS, invoker_id)
                before = frozenset(saved["keys"] if saved else ())
            if before == now:
                return
            await self._copies(invoker_id, set(now - before), set(before - now), namespace)
            try:
                await update(self.store, HOLDINGS, invoker_id,
                             lambda doc: {**doc, "keys": sorted(now)}, default={})
            except Exception:  # the store failed: the next report tries again
                log.exception("holdings of invoker %s not saved", invoker_id)
                return
            self._holdings[invoker_id] = now

    async def _copies(self, invoker_id: str, added: set[str], gone: set[str],
                      namespace: str | None) -> None:
        for key, keep in [*((k, True) for k in sorted(added)), *((k, False) for k in gone)]:
            if namespace is not None and not key.startswith(f"{namespace}/"):
                continue  # a key of another namespace: not this invoker's business

            def edit(doc: Doc, keep: bool = keep) -> Doc:
                copies = [c for c in doc.get("copies", []) if c != invoker_id]
                doc["copies"] = [*copies, invoker_id] if keep else copies
                return doc

            try:
                await update(self.store, ARTIFACTS, key, edit)
            except StoreNotFound:
                continue  # an artifact the registry does not know (or deleted since)
            except Exception:  # the store failed: the next report repairs it
                log.exception("copies of %s for invoker %s not updated", key, invoker_id)

    async def settled(self) -> None:
        """Until the copies updates started so far are done (tests, shutdown)."""
        await self._copying.settled()

    async def close(self) -> None:
        await self.settled()
        await self.blobs.close()
