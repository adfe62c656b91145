"""The embedded default store: one SQLite file, one table per collection.

Why it is shaped this way:

- One worker thread owns the connection and runs every write and scan, so the event loop
  never waits for a commit and the asyncio tasks of one process are serialised without a lock.
- A point read (``get``: an action, a key on every invoke) runs on the caller's thread through
  a read-only connection: handing it to the worker and back cost more CPU than the read
  (``edgewhisk bench controller``). Under WAL a reader never waits for the writer and sees
  every committed write; it is opened with no busy timeout, and whatever it cannot do at once
  (no file or table yet, the database busy) the worker thread does, as before.
- WAL journal plus a busy timeout let several processes share the file; every write is a
  ``BEGIN IMMEDIATE`` transaction that checks the revision and writes in one step, so the
  revision check cannot race with another writer (no lost update across processes either).
- ``synchronous=NORMAL`` under WAL: a committed write survives a crash or restart of the
  process (what "acknowledged" means for the controller); only a power cut may roll back
  the last transactions. Pass ``synchronous="FULL"`` to trade latency for that too.
- Revisions look like CouchDB's (``N-<32 hex>``), hashed over the previous revision and the
  body, so that callers cannot tell the backends apart. Deletes remove the row (no tombstones:
  activations would otherwise pile up forever).
- Ordinary rowid tables with a real ``start`` column, set from the document at every write:
  listings sorted on ``start`` (the activations', newest first) use its index; other sort
  fields (artifacts' ``version``, ``created``: rare writes) use expression indexes.
  ``sqlite_schema.py`` says why (the insert's cost) and rebuilds older files.
"""

from __future__ import annotations

import asyncio
import builtins
import hashlib
import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

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
    encode_doc,
    encode_write,
)
from .sqlite_schema import COLUMN, column_value, index_name, migrate, sort_key, table_sql

T = TypeVar("T")

SQLITE_FILENAME = "store.sqlite3"
"""The file name used when the store is opened on a directory."""


class SQLiteStore(Store):
    """A ``Store`` in one SQLite file at ``path`` (its folder is created on first use)."""

    def __init__(
        self, path: str | Path, *, busy_timeout: float = 30.0, synchronous: str = "NORMAL"
    ) -> None:
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous must be NORMAL or FULL, got {synchronous!r}")
        self.path = Path(path)
        self._busy_timeout = busy_timeout
        self._synchronous = synchronous
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="edgewhisk-sqlite")
        self._conn: sqlite3.Connection | None = None  # used only on the worker thread
        self._reader: sqlite3.Connection | None = None  # point reads, on the event loop
        self._tables: set[str] = set()
        self._indexes: set[tuple[str, str]] = set()
        self._closed = False

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"

    # -- the async API: check input (list and count: Store), run the SQL on the worker thread

    async def get(self, coll: str, id: str) -> Doc:
        coll, id = check_collection(coll), check_id(id)
        found = self._get_here(coll, id)
        return found if found is not None else await self._call(self._get, coll, id)

    async def put(self, coll: str, doc: Mapping[str, Any]) -> str:
        id, rev, text = encode_doc(doc)
        return await self._call(self._put, check_collection(coll), id, rev, text,
                                column_value(doc))

    async def delete(self, coll: str, id: str, rev: str) -> None:
        await self._call(self._delete, check_collection(coll), check_id(id), rev)

    async def write_many(self, writes: Sequence[Write]) -> builtins.list[WriteResult]:
        """Every write in one ``BEGIN IMMEDIATE`` transaction: one commit for the batch."""
        checked = [(write.coll, *encode_write(write), column_value(write.doc))
                   for write in writes]
        return await self._call(self._write_many, checked)

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
        return await self._call(
            self._list, coll, prefix, filters, sort, descending, limit, skip
        )

    async def _count_checked(
        self, coll: str, prefix: str | None, filters: dict[str, Scalar]
    ) -> int:
        return await self._call(self._count, coll, prefix, filters)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._disconnect)
        finally:
            self._executor.shutdown(wait=False)

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` on the worker thread; the one place sqlite errors become store errors."""
        if self._closed:
            raise StoreUnavailable(f"{self!r} is closed")
        try:
            future = asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        except RuntimeError as exc:  # the executor was shut down under us by close()
            raise StoreUnavailable(f"{self!r} is closed") from exc
        try:
            return await future
        except (sqlite3.OperationalError, OSError) as exc:  # locked, unopenable, disk full
            raise StoreUnavailable(f"{self!r}: {exc}") from exc
        except sqlite3.Error as exc:
            raise StoreError(f"{self!r}: {exc}") from exc

    def _get_here(self, coll: str, id: str) -> Doc | None:
        """``get`` on this thread (see the module docstring); None: the worker must read."""
        if self._closed:
            raise StoreUnavailable(f"{self!r} is closed")
        try:
            if self._reader is None:
                if not self.path.is_file():
                    return None
                self._reader = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True,
                                               timeout=0, isolation_level=None,
                                               check_same_thread=False)
            row = self._reader.execute(
                f'SELECT rev, body FROM "c_{coll}" WHERE id = ?', (id,)).fetchone()
        except sqlite3.Error:  # no table yet, busy, unreadable: the worker's read says why
            return None
        if row is None:
            raise NotFound(f"{coll}/{id}")
        return {"_id": id, "_rev": row[0], **json.loads(row[1])}

    # -- worker-thread side ---------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute(f"PRAGMA synchronous={self._synchronous}")
                migrate(conn)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _disconnect(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _table(self, coll: str) -> str:
        """Return the quoted table of ``coll``, creating it once per connection."""
        conn = self._connection()
        table = f'"c_{coll}"'
        if coll not in self._tables:
            conn.execute(table_sql(table))
            self._tables.add(coll)
        return table

    def _sort_index(self, coll: str, field: str) -> None:
        """Index ``field`` once, so newest-first listings of activations stay cheap."""
        if (coll, field) not in self._indexes:
            self._connection().execute(
                f'CREATE INDEX IF NOT EXISTS "{index_name(coll, field)}" ON "c_{coll}" '
                f"({sort_key(field)}, id)"
            )
            self._indexes.add((coll, field))

    def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` in one IMMEDIATE transaction: the write lock is taken before reading."""
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = work(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return result

    def _get(self, coll: str, id: str) -> Doc:
        row = self._connection().execute(
            f"SELECT rev, body FROM {self._table(coll)} WHERE id = ?", (id,)
        ).fetchone()
        if row is None:
            raise NotFound(f"{coll}/{id}")
        return {"_id": id, "_rev": row[0], **json.loads(row[1])}

    def _put(self, coll: str, id: str, rev: str | None, text: str, column: Any) -> str:
        table = self._table(coll)
        return self._write(lambda conn: _put_row(conn, table, coll, id, rev, text, column))

    def _delete(self, coll: str, id: str, rev: str) -> None:
        table = self._table(coll)
        self._write(lambda conn: _delete_row(conn, table, coll, id, rev))

    def _write_many(
        self, writes: builtins.list[tuple[str, str, str | None, str | None, Any]]
    ) -> builtins.list[WriteResult]:
        tables = {coll: self._table(coll) for coll, *_ in writes}

        def work(conn: sqlite3.Connection) -> builtins.list[WriteResult]:
            results: builtins.list[WriteResult] = []
            for coll, id, rev, text, column in writes:
                try:
                    if text is None:
                        _delete_row(conn, tables[coll], coll, id, rev or "")
                        results.append(None)
                    else:
                        results.append(
                            _put_row(conn, tables[coll], coll, id, rev, text, column))
                except (Conflict, NotFound) as exc:  # checked before any change: skip it
                    results.append(exc)
            return results

        return self._write(work)

    def _list(
        self,
        coll: str,
        prefix: str | None,
        filters: dict[str, Scalar],
        sort: str | None,
        descending: bool,
        limit: int | None,
        skip: int,
    ) -> builtins.list[Doc]:
        table = self._table(coll)
        where, params = _where(prefix, filters)
        direction = "DESC" if descending else "ASC"
        order = f"id {direction}"
        if sort is not None:
            self._sort_index(coll, sort)
            where.append(f"json_type(body, '$.{sort}') IS NOT NULL")
            order = f"{sort_key(sort)} {direction}, {order}"
        sql = (
            f"SELECT id, rev, body FROM {table} WHERE {' AND '.join(where) or '1'} "
            f"ORDER BY {order} LIMIT ? OFFSET ?"
        )
        rows = self._connection().execute(sql, (*params, -1 if limit is None else limit, skip))
        return [{"_id": id, "_rev": rev, **json.loads(body)} for id, rev, body in rows]

    def _count(self, coll: str, prefix: str | None, filters: dict[str, Scalar]) -> int:
        table = self._table(coll)
        where, params = _where(prefix, filters)
        sql = f"SELECT count(*) FROM {table} WHERE {' AND '.join(where) or '1'}"
        return int(self._connection().execute(sql, params).fetchone()[0])


def _put_row(conn: sqlite3.Connection, table: str, coll: str, id: str, rev: str | None,
             text: str, column: Any) -> str:
    """Put one document inside the caller's transaction; its new revision."""
    row = conn.execute(f"SELECT rev FROM {table} WHERE id = ?", (id,)).fetchone()
    current = None if row is None else row[0]
    if rev != current:
        raise Conflict(f"{coll}/{id}: revision {rev!r} is not current")
    generation = 1 if current is None else int(current.split("-", 1)[0]) + 1
    digest = hashlib.md5(f"{current}\n{text}".encode(), usedforsecurity=False)
    new_rev = f"{generation}-{digest.hexdigest()}"
    conn.execute(
        f"INSERT INTO {table} (id, rev, body, {COLUMN}) VALUES (?, ?, ?, ?) "
        f"ON CONFLICT(id) DO UPDATE SET rev = excluded.rev, body = excluded.body, "
        f"{COLUMN} = excluded.{COLUMN}",
        (id, new_rev, text, column),
    )
    return new_rev


def _delete_row(conn: sqlite3.Connection, table: str, coll: str, id: str, rev: str) -> None:
    """Delete one document inside the caller's transaction."""
    row = conn.execute(f"SELECT rev FROM {table} WHERE id = ?", (id,)).fetchone()
    if row is None:
        raise NotFound(f"{coll}/{id}")
    if row[0] != rev:
        raise Conflict(f"{coll}/{id}: revision {rev!r} is not current")
    conn.execute(f"DELETE FROM {table} WHERE id = ?", (id,))


def _where(prefix: str | None, filters: dict[str, Scalar]) -> tuple[list[str], list[Any]]:
    """SQL conditions for a selection; field names were checked, values are bound."""
    where: list[str] = []
    params: list[Any] = []
    if prefix:
        where.append("id >= ? AND id < ?")
        params += [prefix, prefix + PREFIX_END]
    for field, value in filters.items():
        path = f"'$.{field}'"
        if value is None or isinstance(value, bool):
            where.append(f"json_type(body, {path}) = ?")
            params.append(json.dumps(value))  # 'null', 'true', 'false'
        elif isinstance(value, str):
            where.append(f"json_type(body, {path}) = 'text' AND json_extract(body, {path}) = ?")
            params.append(value)
        else:
            where.append(
                f"json_type(body, {path}) IN ('integer', 'real') "
                f"AND json_extract(body, {path}) = ?"
            )
            params.append(value)
    return where, params
