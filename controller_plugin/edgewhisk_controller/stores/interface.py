"""The store contract every backend implements, and the input rules they share.

A store keeps JSON documents in named collections ("namespaces", "actions", "activations",
"triggers", "rules", "artifacts", ...). A document is a dict with a string ``_id`` and,
once stored, a ``_rev`` revision ``N-<hash>`` as in CouchDB. Writes are optimistic:
``put`` succeeds only if the ``_rev`` it carries is the current one (or, for a new
document, if it carries none); otherwise it raises ``Conflict`` and the caller re-reads
(``update`` in ``stores.update`` does that loop). This is what lets many asyncio tasks and
several controller processes share one store without losing an update.

The API is async because the controller is an aiohttp server; backends must never block the
event loop for long. The rules below are checked here, once, so that both backends accept
and refuse exactly the same input.
"""

from __future__ import annotations

import abc
import asyncio
import builtins
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from .exceptions import Conflict, NotFound, StoreError

Doc = dict[str, Any]
"""A JSON document: ``_id``, ``_rev`` plus the caller's top-level fields."""

Scalar = str | int | float | bool | None
"""A value a list filter can compare a top-level field with."""

# CouchDB database names must start with a lowercase letter; we keep collections simpler still.
_COLLECTION = re.compile(r"[a-z][a-z0-9_]{0,63}")
# A top-level field name usable in filters and sorts (no dots: Mango would read them as paths).
_FIELD = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
# The upper bound of a prefix range, as CouchDB documents it for _all_docs and views.
PREFIX_END = "\ufff0"


@dataclass(frozen=True)
class Write:
    """One write of a batch (``Store.write_many``): ``doc`` put into ``coll`` (its ``_rev``
    checked as ``put`` checks it), or with ``delete`` the document ``doc["_id"]`` deleted at
    ``doc["_rev"]``."""

    coll: str
    doc: Mapping[str, Any]
    delete: bool = False


WriteResult = str | None | StoreError

Deliver = Callable[[list[WriteResult] | Exception], None]
"""What ``Store.write_many_soon`` calls with a batch's results, or with why it failed."""

_WRITING: set[asyncio.Task[None]] = set()  # the default write_many_soon's tasks, kept alive
"""Per write of a batch: the new revision of a put, None for a delete, or the ``Conflict`` or
``NotFound`` that refused that write alone."""


class Store(abc.ABC):
    """Documents in named collections, with revisions and optimistic concurrency.

    Backends open their connection lazily, on the first call made inside the event loop,
    so constructing one never fails; an unreachable backend raises ``StoreUnavailable``
    from that first call. Use ``async with store:`` or call ``close()`` when done.
    """

    @abc.abstractmethod
    async def get(self, coll: str, id: str) -> Doc:
        """Return the current document with ``_id`` and ``_rev``; ``NotFound`` if absent."""

    @abc.abstractmethod
    async def put(self, coll: str, doc: Mapping[str, Any]) -> str:
        """Create or replace ``doc`` and return its new revision.

        Without ``_rev`` the document must not exist yet; with ``_rev`` it must be the
        current revision. Otherwise ``Conflict``. ``doc`` itself is left unchanged.
        """

    @abc.abstractmethod
    async def delete(self, coll: str, id: str, rev: str) -> None:
        """Delete the document at ``rev``: ``NotFound`` if absent, ``Conflict`` if stale."""

    async def list(
        self,
        coll: str,
        *,
        prefix: str | None = None,
        filters: Mapping[str, Scalar] | None = None,
        sort: str | None = None,
        descending: bool = False,
        limit: int | None = None,
        skip: int = 0,
    ) -> builtins.list[Doc]:
        """Return matching documents, ordered, after skipping ``skip`` and at most ``limit``.

        ``prefix`` keeps ids starting with it; ``filters`` keeps documents whose top-level
        fields equal the given scalars (type-aware: ``True`` does not equal ``1``).
        Order is by ``_id`` unless ``sort`` names a top-level field; then documents
        without that field are left out (CouchDB's Mango semantics) and ties are ordered
        by ``_id`` in the same direction. Sort on numbers or ASCII strings: other strings
        collate per backend. A missing collection lists as empty.
        """
        check_collection(coll)
        checked = check_selection(prefix, filters, sort)
        check_page(limit, skip)
        return await self._list_checked(coll, prefix, checked, sort, descending, limit, skip)

    async def count(
        self,
        coll: str,
        *,
        prefix: str | None = None,
        filters: Mapping[str, Scalar] | None = None,
    ) -> int:
        """Return how many documents ``list`` would return with the same selection."""
        check_collection(coll)
        return await self._count_checked(coll, prefix, check_selection(prefix, filters))

    async def write_many(self, writes: Sequence[Write]) -> builtins.list[WriteResult]:
        """Apply ``writes`` in order; one result per write (``WriteResult``).

        Why: group commit. Writes of many concurrent tasks (the activations' accepted and
        final records) share one transaction (SQLite) or one request per collection (CouchDB's
        ``_bulk_docs``), so a commit's cost is paid once per batch instead of once per write.
        A refused write (stale ``_rev``, absent document) refuses only itself, as in
        ``_bulk_docs``; invalid input (``ValueError``) refuses the whole batch before anything
        is written; an unreachable backend raises ``StoreUnavailable`` and the batch may be
        partly applied (CouchDB) or not at all (SQLite). This default writes one at a time.
        """
        for write in writes:
            check_write(write)
        results: builtins.list[WriteResult] = []
        for write in writes:
            try:
                if write.delete:
                    await self.delete(write.coll, write.doc["_id"], write.doc["_rev"])
                    results.append(None)
                else:
                    results.append(await self.put(write.coll, write.doc))
            except (Conflict, NotFound) as exc:
                results.append(exc)
        return results

    def write_many_soon(self, writes: Sequence[Write], deliver: Deliver) -> None:
        """``write_many`` without waiting: ``deliver`` gets its results (or the exception it
        raised) later, on the event loop's thread, never before this returns.

        Why: the group commit's one caller (``batch.py``) needs no task and no future per
        commit; a store whose writes run on a thread of its own (SQLite) hands the results
        straight back to the loop. This default runs ``write_many`` in a task."""
        async def write() -> None:
            try:
                results = await self.write_many(writes)
            except Exception as exc:
                deliver(exc)
            else:
                deliver(results)

        task = asyncio.get_running_loop().create_task(write())
        _WRITING.add(task)
        task.add_done_callback(_WRITING.discard)

    @abc.abstractmethod
    async def _list_checked(
        self,
        coll: str,
        prefix: str | None,
        filters: dict[str, Scalar],
        sort: str | None,
        descending: bool,
        limit: int | None,
        skip: int,
    ) -> builtins.list[Doc]:
        """``list`` on input that ``list`` has checked (``filters`` as ``check_selection``
        returns them)."""

    @abc.abstractmethod
    async def _count_checked(
        self, coll: str, prefix: str | None, filters: dict[str, Scalar]
    ) -> int:
        """``count`` on input that ``count`` has checked."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections; idempotent. Later calls raise ``StoreUnavailable``."""

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


async def get_or_none(store: Store, coll: str, id: str) -> Doc | None:
    """``store.get``, or None when the document is absent."""
    try:
        return await store.get(coll, id)
    except NotFound:
        return None


def stale(coll: str, id: str, rev: object) -> Conflict:
    """The ``Conflict`` of a write at revision ``rev`` that is not ``id``'s current one (every
    store's words for it)."""
    return Conflict(f"{coll}/{id}: revision {rev!r} is not current")


def check_collection(coll: str) -> str:
    """Return ``coll`` if it is a valid collection name (lowercase identifier), else raise."""
    if not isinstance(coll, str) or not _COLLECTION.fullmatch(coll):
        raise ValueError(f"collection name must match {_COLLECTION.pattern!r}, got {coll!r}")
    return coll


def check_id(id: str) -> str:
    """Return ``id`` if usable as a document id; ids starting with ``_`` are CouchDB's own."""
    if not isinstance(id, str) or not id or id.startswith("_"):
        raise ValueError(f"document id must be a non-empty string not starting '_': {id!r}")
    return id


def check_field(field: str) -> str:
    """Return ``field`` if it names a top-level field usable in filters and sorts."""
    if not isinstance(field, str) or not _FIELD.fullmatch(field):
        raise ValueError(f"field name must match {_FIELD.pattern!r}, got {field!r}")
    return field


def split_doc(doc: Mapping[str, Any]) -> tuple[str, str | None, Doc]:
    """Split a document into (id, rev or None, body without ``_id``/``_rev``), checking it.

    The body must be JSON (no NaN, no other ``_``-prefixed keys, which CouchDB reserves).
    """
    id, rev, body = _split(doc)
    _encode(id, body)
    return id, rev, body


def encode_doc(doc: Mapping[str, Any]) -> tuple[str, str | None, str]:
    """``split_doc`` with the body as the compact JSON text a store keeps (SQLite's row).

    Why: checking that a body is JSON is serialising it; a store that keeps the text uses
    this one serialisation rather than making a second (a record is written on every invoke).
    """
    id, rev, body = _split(doc)
    return id, rev, _encode(id, body)


def _split(doc: Mapping[str, Any]) -> tuple[str, str | None, Doc]:
    if not isinstance(doc, Mapping):
        raise ValueError(f"document must be a mapping, got {type(doc).__name__}")
    id = check_id(doc.get("_id"))  # type: ignore[arg-type]
    rev = doc.get("_rev")
    if rev is not None and not isinstance(rev, str):
        raise ValueError(f"_rev must be a string, got {rev!r}")
    body = {k: v for k, v in doc.items() if k not in ("_id", "_rev")}
    for key in body:
        if not isinstance(key, str) or key.startswith("_"):
            raise ValueError(f"top-level keys must be strings not starting with '_', got {key!r}")
    return id, rev, body


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
"""Made once: ``json.dumps`` with any option builds a new encoder on every call (a record is
written on every invoke)."""


def _encode(id: str, body: Doc) -> str:
    try:
        return _ENCODER.encode(body)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"document {id!r} is not JSON: {exc}") from exc


def check_write(write: Write) -> tuple[str, str | None, Doc]:
    """Check one write of a batch; (id, rev, body) as ``split_doc`` gives them."""
    check_collection(write.coll)
    if write.delete:
        return (*_check_delete(write), {})
    return split_doc(write.doc)


def encode_write(write: Write) -> tuple[str, str | None, str | None]:
    """``check_write`` with the body as ``encode_doc``'s text (None for a delete)."""
    check_collection(write.coll)
    if write.delete:
        return (*_check_delete(write), None)
    return encode_doc(write.doc)


def _check_delete(write: Write) -> tuple[str, str]:
    id, rev = write.doc.get("_id"), write.doc.get("_rev")
    if not isinstance(rev, str):
        raise ValueError(f"a delete needs the document's _rev, got {rev!r}")
    return check_id(id), rev  # type: ignore[arg-type]


def check_selection(
    prefix: str | None, filters: Mapping[str, Scalar] | None, sort: str | None = None
) -> dict[str, Scalar]:
    """Check a list/count selection and return the filters as a plain dict."""
    if prefix is not None and not isinstance(prefix, str):
        raise ValueError(f"prefix must be a string, got {prefix!r}")
    if sort is not None:
        check_field(sort)
    checked: dict[str, Scalar] = {}
    for field, value in (filters or {}).items():
        check_field(field)
        if value is not None and not isinstance(value, str | int | float | bool):
            raise ValueError(f"filter {field!r} must compare with a JSON scalar, got {value!r}")
        checked[field] = value
    return checked


def check_page(limit: int | None, skip: int) -> None:
    """Refuse negative paging values (CouchDB and SQLite would disagree on them)."""
    if limit is not None and (not isinstance(limit, int) or limit < 0):
        raise ValueError(f"limit must be a non-negative int or None, got {limit!r}")
    if not isinstance(skip, int) or skip < 0:
        raise ValueError(f"skip must be a non-negative int, got {skip!r}")
