"""The production store: CouchDB's HTTP API spoken with aiohttp directly.

One database per collection, named ``<prefix><collection>`` (prefix from the URL's
``?prefix=`` query, default ``edgewhisk_``) so that several deployments, or test runs, can
share one server. CouchDB does the optimistic concurrency itself: a stale ``_rev`` is a
409, which becomes ``Conflict``. Prefix-only listings read ``_all_docs`` with a key range;
filters and sorts go through Mango ``_find``, with a JSON index created on first use for
each sorted field (Mango cannot sort without one).

Why not the ``couchdb`` package: it is synchronous, and the controller is an aiohttp
server; a dozen HTTP calls are simpler than a thread pool around a blocking client.
The same code runs against Apache CouchDB and against pouchdb-server (what the tests use);
where the two answer differently (a bogus revision on DELETE is a 404 on pouchdb-server,
a 409 on CouchDB) the code asks the server which case it is.
"""

from __future__ import annotations

import base64
import builtins
import collections
import contextlib
import itertools
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit, urlunsplit

import aiohttp
from yarl import URL

from .exceptions import Conflict, NotFound, StoreError, StoreUnavailable
from .interface import (
    PREFIX_END,
    Doc,
    Scalar,
    Store,
    Write,
    WriteResult,
    check_collection,
    check_id,
    check_write,
    split_doc,
    stale,
)
from .readcache import ReadCache

DEFAULT_PREFIX = "edgewhisk_"
_PREFIX = re.compile(r"([a-z][a-z0-9_-]*)?")
_REV = re.compile(r"[0-9]+-[0-9a-zA-Z]+")
_NO_LIMIT = 2**31 - 1  # Mango's default limit is 25: "all" has to be spelled out


class CouchDBStore(Store):
    """A ``Store`` on a CouchDB server: ``http://[user:password@]host:port[/path][?prefix=]``."""

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"CouchDB URL must be http(s)://host:port, got {url!r}")
        prefix = parse_qs(parts.query).get("prefix", [DEFAULT_PREFIX])[-1]
        if not _PREFIX.fullmatch(prefix):
            raise ValueError(f"database prefix must match {_PREFIX.pattern!r}, got {prefix!r}")
        netloc = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
        self.url = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
        self.prefix = prefix
        self._headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if parts.username is not None:
            user = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            self._headers["Authorization"] = "Basic " + base64.b64encode(user.encode()).decode()
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._databases: set[str] = set()  # known to exist
        self._indexes: set[tuple[str, str]] = set()  # (collection, field) indexed for sorting
        self._closed = False
        self.cache: ReadCache | None = None  # see cache_reads

    def __repr__(self) -> str:
        return f"CouchDBStore({self.url!r}, prefix={self.prefix!r})"

    # -- documents ------------------------------------------------------------------------

    async def get(self, coll: str, id: str) -> Doc:
        cache = self.cache
        if cache is not None and (kept := cache.lookup(coll, check_id(id))) is not None:
            return kept
        token = cache.token() if cache is not None else 0
        status, body = await self._request("GET", self._path(coll, check_id(id)))
        _raise_for(status, body, f"{coll}/{id}")
        if cache is not None:
            cache.keep(coll, id, body, token)
        return body

    def cache_reads(self, collections: builtins.list[str]) -> ReadCache:
        """From now on answer ``get`` of ``collections`` from what was read before, until
        :meth:`changed` or a write of this store drops it (``readcache.py``). Only for a
        store whose changes feed of those collections is followed (``cluster/join.py``):
        nothing else tells it of another controller's writes."""
        self.cache = ReadCache(collections)
        return self.cache

    def changed(self, coll: str, doc: Mapping[str, Any]) -> None:
        """The changes feed says ``doc`` of ``coll`` changed: read it again next time."""
        if self.cache is not None:
            self.cache.drop(coll, str(doc.get("_id")))

    @contextlib.contextmanager
    def _writing(self, coll: str, ids: builtins.list[str]) -> Iterator[None]:
        """Around a write of ``ids``: their cached reads dropped before and after it, so that
        a read in flight across the write is not kept."""
        self._dropped(coll, ids)
        try:
            yield
        finally:
            self._dropped(coll, ids)

    def _dropped(self, coll: str, ids: Iterable[str]) -> None:
        if self.cache is not None:
            for id in ids:
                self.cache.drop(coll, id)

    async def put(self, coll: str, doc: Mapping[str, Any]) -> str:
        id, rev, fields = split_doc(doc)
        if rev is not None and not _REV.fullmatch(rev):
            raise stale(coll, id, rev)
        await self._ensure_database(coll)
        with self._writing(coll, [id]):
            status, body = await self._request("PUT", self._path(coll, id),
                                               json_body=_doc(id, rev, fields))
        _raise_for(status, body, f"{coll}/{id}")
        return str(body["rev"])

    async def delete(self, coll: str, id: str, rev: str) -> None:
        path = self._path(coll, check_id(id))
        if not isinstance(rev, str) or not _REV.fullmatch(rev):
            await self.get(coll, id)  # NotFound if absent
            raise stale(coll, id, rev)
        with self._writing(coll, [id]):
            status, body = await self._request("DELETE", path, params={"rev": rev})
        if status == 404:  # pouchdb-server: absent, or a revision it never had
            await self.get(coll, id)
            raise stale(coll, id, rev)
        _raise_for(status, body, f"{coll}/{id}")

    async def write_many(self, writes: Sequence[Write]) -> builtins.list[WriteResult]:
        """Writes to one collection that follow each other go in one ``_bulk_docs``."""
        checked = [(write, check_write(write)) for write in writes]
        results: builtins.list[WriteResult] = []
        for coll, run in itertools.groupby(checked, key=lambda pair: pair[0].coll):
            answers: builtins.list[WriteResult | Doc] = []
            for write, (id, rev, body) in run:
                if rev is not None and not _REV.fullmatch(rev):  # not a revision CouchDB has
                    answers.append(stale(coll, id, rev))
                elif write.delete:
                    answers.append({"_id": id, "_rev": rev, "_deleted": True})
                else:
                    answers.append(_doc(id, rev, body))
            docs = [doc for doc in answers if isinstance(doc, dict)]
            sent = iter(await self._bulk_docs(coll, docs) if docs else [])
            results += [next(sent) if isinstance(doc, dict) else doc for doc in answers]
        return results

    async def _bulk_docs(self, coll: str, docs: builtins.list[Doc]) -> builtins.list[WriteResult]:
        await self._ensure_database(coll)
        with self._writing(coll, [str(doc["_id"]) for doc in docs]):
            status, body = await self._request("POST", self._path(coll, "_bulk_docs"),
                                               json_body={"docs": docs})
        _raise_for(status, body, f"{coll}/_bulk_docs")
        results: builtins.list[WriteResult] = []
        for doc, answer in zip(docs, _in_order(docs, body), strict=True):
            what = f"{coll}/{doc['_id']}"
            if "error" not in answer:
                results.append(None if doc.get("_deleted") else str(answer["rev"]))
            elif answer["error"] == "conflict":
                results.append(Conflict(f"{what}: {answer.get('reason')}"))
            elif answer["error"] == "not_found":
                results.append(NotFound(f"{what}: {answer.get('reason')}"))
            else:
                results.append(StoreError(f"{what}: {answer['error']}: {answer.get('reason')}"))
        return results

    # -- queries --------------------------------------------------------------------------

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
        if prefix and not filters and sort is None:
            params = {"include_docs": "true", "skip": str(skip)}
            if limit is not None:
                params["limit"] = str(limit)
            rows = await self._all_docs(coll, prefix, descending, params)
            return [row["doc"] for row in rows]
        query: dict[str, Any] = {"selector": _selector(prefix, filters), "skip": skip}
        query["limit"] = _NO_LIMIT if limit is None else limit
        direction = "desc" if descending else "asc"
        if sort is None:
            query["sort"] = [{"_id": direction}]
        else:
            if not await self._ensure_index(coll, sort):
                return []
            selector = query["selector"]
            selector[sort] = {**selector.get(sort, {}), "$exists": True}
            query["sort"] = [{sort: direction}]
            query["use_index"] = [f"_design/{_index_name(sort)}", _index_name(sort)]
        return await self._find(coll, query)

    async def _count_checked(
        self, coll: str, prefix: str | None, filters: dict[str, Scalar]
    ) -> int:
        if prefix and not filters:
            return len(await self._all_docs(coll, prefix, False, {}))
        query = {"selector": _selector(prefix, filters), "fields": ["_id"], "limit": _NO_LIMIT}
        return len(await self._find(coll, query))

    async def _all_docs(
        self, coll: str, prefix: str, descending: bool, params: dict[str, str]
    ) -> builtins.list[dict[str, Any]]:
        low, high = json.dumps(prefix), json.dumps(prefix + PREFIX_END)
        if descending:
            params |= {"descending": "true", "startkey": high, "endkey": low}
        else:
            params |= {"startkey": low, "endkey": high, "inclusive_end": "false"}
        status, body = await self._request("GET", self._path(coll, "_all_docs"), params=params)
        if status == 404:
            return []
        _raise_for(status, body, f"{coll}/_all_docs")
        return builtins.list(body["rows"])

    async def _find(self, coll: str, query: dict[str, Any]) -> builtins.list[Doc]:
        status, body = await self._request("POST", self._path(coll, "_find"), json_body=query)
        if status == 404:
            return []
        _raise_for(status, body, f"{coll}/_find")
        return builtins.list(body["docs"])

    # -- the changes feed -----------------------------------------------------------------

    async def changes(self, coll: str, since: str,
                      wait_s: float) -> tuple[builtins.list[Doc], str]:
        """CouchDB's ``_changes`` feed of ``coll`` after ``since`` (``now``: from here on),
        waiting up to ``wait_s`` for one (``feed=longpoll``; 0: not at all, the sequence
        to start from): the changed documents (a deleted
        one as ``{"_id", "_deleted": true}``) and the sequence to ask from next. Several
        controllers on one store follow each other's writes through it (``cluster/``)."""
        await self._ensure_database(coll)
        params = {"feed": "longpoll", "since": since, "include_docs": "true",
                  "timeout": str(int(wait_s * 1000))} if wait_s > 0 else {"since": since}
        status, body = await self._request("GET", self._path(coll, "_changes"), params=params)
        _raise_for(status, body, f"{coll}/_changes")
        docs = [row.get("doc") or {"_id": row["id"], "_deleted": True}
                for row in body.get("results", ())]
        return docs, str(body["last_seq"])

    # -- databases and indexes ------------------------------------------------------------

    async def _ensure_database(self, coll: str) -> None:
        if coll in self._databases:
            return
        status, body = await self._request("PUT", self._path(coll))
        if status != 412:  # 412: it already exists
            _raise_for(status, body, coll)
        self._databases.add(coll)

    async def _ensure_index(self, coll: str, field: str) -> bool:
        """Create the sort index of ``field`` once; False if the collection does not exist."""
        if (coll, field) in self._indexes:
            return True
        name = _index_name(field)
        index = {"index": {"fields": [field]}, "ddoc": name, "name": name, "type": "json"}
        status, body = await self._request("POST", self._path(coll, "_index"), json_body=index)
        if status == 404:
            return False
        _raise_for(status, body, f"{coll}/_index")
        self._indexes.add((coll, field))
        return True

    # -- HTTP -----------------------------------------------------------------------------

    def _path(self, coll: str, id: str | None = None) -> str:
        path = "/" + quote(self.prefix + check_collection(coll), safe="")
        if id is not None:
            path += "/" + (id if id.startswith("_") else quote(id, safe=""))
        return path

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
    ) -> tuple[int, Any]:
        """Send one request; the one place aiohttp's errors become store errors."""
        if self._closed:
            raise StoreUnavailable(f"{self!r} is closed")
        if self._session is None:
            self._session = aiohttp.ClientSession(headers=self._headers, timeout=self._timeout)
        data = None if json_body is None else json.dumps(json_body, allow_nan=False)
        try:
            async with self._session.request(
                method, URL(self.url + path, encoded=True), params=params, data=data
            ) as response:
                return response.status, await response.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise StoreUnavailable(f"{self!r}: {method} {path}: {exc!r}") from exc
        except ValueError as exc:
            raise StoreError(f"{self!r}: {method} {path}: the answer is not JSON") from exc

    async def close(self) -> None:
        self._closed = True
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()


def _in_order(docs: builtins.list[Doc], answers: Any) -> builtins.list[Any]:
    """``_bulk_docs``' answers in the order of ``docs``, matched by id.

    Why not by position: CouchDB answers in the order it was sent, but pouchdb-server groups
    the answers of one id written twice in a batch (a put and then a delete of it), so by
    position the second write of an id took the next document's answer. Several answers of one
    id are taken in the order they came, which is the order that id's writes were applied.
    """
    if not isinstance(answers, list) or len(answers) != len(docs):
        got = len(answers) if isinstance(answers, list) else repr(answers)
        raise StoreError(f"_bulk_docs answered {got} for {len(docs)} documents")
    by_id: dict[str, collections.deque[Any]] = collections.defaultdict(collections.deque)
    for answer in answers:
        by_id[str(answer.get("id"))].append(answer)
    try:
        return [by_id[str(doc["_id"])].popleft() for doc in docs]
    except IndexError:
        raise StoreError("_bulk_docs answered other documents than it was sent") from None


def _doc(id: str, rev: str | None, body: Doc) -> Doc:
    """The document CouchDB is sent: ``_id``, ``_rev`` if it has one, the body."""
    return {"_id": id, **body} if rev is None else {"_id": id, "_rev": rev, **body}


def _selector(prefix: str | None, filters: dict[str, Scalar]) -> dict[str, Any]:
    selector: dict[str, Any] = {field: {"$eq": value} for field, value in filters.items()}
    if prefix:
        selector["_id"] = {"$gte": prefix, "$lt": prefix + PREFIX_END}
    return selector or {"_id": {"$gt": None}}


def _index_name(field: str) -> str:
    return f"edgewhisk-sort-{field}"


def _raise_for(status: int, body: Any, what: str) -> None:
    """Map a CouchDB status to the store's exceptions (2xx passes)."""
    if 200 <= status < 300:
        return
    reason = body.get("reason") if isinstance(body, dict) else body
    if status == 404:
        raise NotFound(f"{what}: {reason}")
    if status == 409:
        raise Conflict(f"{what}: {reason}")
    if status in (502, 503, 504):
        raise StoreUnavailable(f"{what}: HTTP {status}: {reason}")
    raise StoreError(f"{what}: HTTP {status}: {reason}")
