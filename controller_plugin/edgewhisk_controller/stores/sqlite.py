"""The embedded default store: one SQLite file, one table per collection.

Why it is shaped this way:

- One worker thread owns the connection and runs every write and scan, so the event loop
  never waits for a commit and the asyncio tasks of one process are serialised without a lock.
- A point read (``get``: an action, a key on every invoke) runs on the caller's thread through
  a read-only connection: handing it to the worker and back cost more CPU than the read
  (``edgewhisk bench controller``). Under WAL a reader never waits for the writer and sees
  every committed write; it is opened with no busy timeout, and whatever it cannot do at once
  (no file or table yet, the database busy) the worker thread does, as before. Rows read
  are kept while no other connection commits (``sqlite_reads.py``).
- The group commit's batches (``write_many_soon``) are written on the caller's thread too,
  through a connection of their own with no busy timeout: the hand-off to the worker and back
  cost about 70 us of CPU per commit (thread wake-ups, measured), twice the commit itself
  (``edgewhisk bench controller``'s floor; ``docs/hotpath.md``, fifth round). A batch that
  is large (``WRITE_HERE_MAX``) or cannot take the write lock at once (a table not made yet,
  the database busy) goes to the worker as before; an error once the lock is held is the
  batch's store error, as on the worker (never written twice). That connection makes no
  checkpoints (they would stall the loop): the worker makes one every ``CHECKPOINT_EVERY``
  of its commits, and the batches that come while it is queued or under way go to the
  worker behind it (else the loop, committing back to back, could keep the write lock from
  it until it gives up, and the WAL would grow for as long as the load lasts).
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
import contextlib
import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from .exceptions import NotFound, StoreError, StoreUnavailable
from .interface import (
    Deliver,
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
from .sqlite_reads import VersionedReads
from .sqlite_rows import Checked, apply, delete_row, put_row, selection, transaction
from .sqlite_schema import column_value, index_name, migrate, sort_key, table_sql

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
        self._writer: sqlite3.Connection | None = None  # group commits, on the event loop
        self._written_here = 0
        self._checkpointing = False  # one is queued or under way: batches go behind it
        self._reads = VersionedReads()  # point reads kept while the writer's version holds
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
        return await self._call(self._write_many, _checked(writes))

    def write_many_soon(self, writes: Sequence[Write], deliver: Deliver) -> None:
        """``write_many`` on the loop's thread when it can go at once (``_write_here``), else
        on the worker thread, whose last step hands the results (or the store error) to
        ``deliver`` on the loop: no task, no future per commit."""
        loop = asyncio.get_running_loop()
        try:
            checked = _checked(writes)
            if self._closed:
                raise StoreUnavailable(f"{self!r} is closed")
        except Exception as exc:  # invalid input or closed: the whole batch, as write_many
            loop.call_soon(deliver, exc)
            return
        here = self._write_here(checked)
        if here is not None:
            loop.call_soon(deliver, here)
            return

        def work() -> None:
            try:
                outcome: builtins.list[WriteResult] | Exception = self._write_many(checked)
            except Exception as exc:
                outcome = _store_error(self, exc)
            loop.call_soon_threadsafe(deliver, outcome)

        try:
            self._executor.submit(work)
        except RuntimeError:  # the executor was shut down under us by close()
            loop.call_soon(deliver, StoreUnavailable(f"{self!r} is closed"))

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
        for conn in (self._reader, self._writer):
            if conn is not None:
                conn.close()
        self._reader = self._writer = None
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._disconnect)
        finally:
            self._executor.shutdown(wait=False)

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` on the worker thread; its sqlite errors become store errors."""
        if self._closed:
            raise StoreUnavailable(f"{self!r} is closed")
        try:
            future = asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        except RuntimeError as exc:  # the executor was shut down under us by close()
            raise StoreUnavailable(f"{self!r} is closed") from exc
        try:
            return await future
        except (sqlite3.Error, OSError) as exc:
            raise _store_error(self, exc) from exc

    def _get_here(self, coll: str, id: str) -> Doc | None:
        """``get`` on this thread (see the module docstring); None: the worker must read."""
        if self._closed:
            raise StoreUnavailable(f"{self!r} is closed")
        try:
            writer = self._writer
            row = self._reads.lookup(writer, coll, id) if writer is not None else None
            if row is None:
                if self._reader is None:
                    if not self.path.is_file():
                        return None
                    self._reader = _connect(
                        f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=0,
                        isolation_level=None, check_same_thread=False)
                row = self._reader.execute(
                    f'SELECT rev, body FROM "c_{coll}" WHERE id = ?', (id,)).fetchone()
                if row is not None and writer is not None:
                    self._reads.keep(coll, id, row)
        except sqlite3.Error:  # no table yet, busy, unreadable: the worker's read says why
            return None
        if row is None:
            raise NotFound(f"{coll}/{id}")
        return {"_id": id, "_rev": row[0], **json.loads(row[1])}

    # -- worker-thread side ---------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = _connect(self.path, timeout=self._busy_timeout, isolation_level=None)
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
        """Run ``work`` in one IMMEDIATE transaction on the worker's connection."""
        return transaction(self._connection(), work)

    def _get(self, coll: str, id: str) -> Doc:
        row = self._connection().execute(
            f"SELECT rev, body FROM {self._table(coll)} WHERE id = ?", (id,)
        ).fetchone()
        if row is None:
            raise NotFound(f"{coll}/{id}")
        return {"_id": id, "_rev": row[0], **json.loads(row[1])}

    def _put(self, coll: str, id: str, rev: str | None, text: str, column: Any) -> str:
        table = self._table(coll)
        return self._write(lambda conn: put_row(conn, table, coll, id, rev, text, column))

    def _delete(self, coll: str, id: str, rev: str) -> None:
        table = self._table(coll)
        self._write(lambda conn: delete_row(conn, table, coll, id, rev))

    def _write_many(self, writes: builtins.list[Checked]) -> builtins.list[WriteResult]:
        for coll, *_ in writes:
            self._table(coll)
        return self._write(lambda conn: apply(conn, writes))

    def _write_here(
        self, writes: builtins.list[Checked]
    ) -> builtins.list[WriteResult] | Exception | None:
        """``_write_many`` on the loop's thread (see the module docstring): its results, or
        the store error it met once it held the write lock (as the worker would say it);
        None: the worker must (a large batch, a table it has not made yet, the database
        busy or unopenable: it waits for the lock, or says why)."""
        if (self._checkpointing or len(writes) > WRITE_HERE_MAX
                or not all(coll in self._tables for coll, *_ in writes)):
            return None
        try:
            conn = self._writer or self._open_writer()
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error:
            return None
        try:
            results = apply(conn, writes)
            self._reads.forget((coll, id) for coll, id, *_ in writes)
            conn.execute("COMMIT")
        except BaseException as exc:
            self._drop_writer()  # closing it rolls back whatever the transaction holds
            if isinstance(exc, sqlite3.Error | OSError):
                return _store_error(self, exc)
            raise
        self._written_here += 1
        if self._written_here % CHECKPOINT_EVERY == 0:
            self._checkpointing = True  # before the worker can start (and end) it
            try:
                self._executor.submit(self._checkpoint)
            except RuntimeError:  # closed meanwhile: no checkpoint
                self._checkpointing = False
        return results

    def _open_writer(self) -> sqlite3.Connection:
        """The loop's own connection: no busy timeout, no checkpoints (the worker's)."""
        conn = _connect(self.path, timeout=0, isolation_level=None, check_same_thread=False)
        try:
            conn.execute(f"PRAGMA synchronous={self._synchronous}")
            conn.execute("PRAGMA wal_autocheckpoint=0")
        except BaseException:
            conn.close()
            raise
        self._writer = conn
        return conn

    def _drop_writer(self) -> None:
        self._reads.reset()
        if self._writer is not None:
            with contextlib.suppress(sqlite3.Error):
                self._writer.close()
            self._writer = None

    def _checkpoint(self) -> None:
        """Copy the WAL's commits into the database and let the next write start the WAL
        over (RESTART: a passive checkpoint copies them, but the loop's connection went on
        appending); on the worker, so that the loop never waits for a checkpoint's writes
        (a batch that finds it queued or under way goes to the worker, behind it: were the
        loop to go on committing, a checkpoint waiting for the write lock could lose it at
        every retry, and give up, for as long as the loop writes)."""
        conn = self._connection()
        try:  # a reader that holds an old snapshot must not hold up the batches behind
            conn.execute(f"PRAGMA busy_timeout={CHECKPOINT_WAIT_MS}")
            conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchall()
        except sqlite3.Error:
            pass  # the next one copies what this one could not
        finally:
            conn.execute(f"PRAGMA busy_timeout={int(self._busy_timeout * 1000)}")
            self._checkpointing = False

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
        where, params = selection(prefix, filters)
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
        where, params = selection(prefix, filters)
        sql = f"SELECT count(*) FROM {table} WHERE {' AND '.join(where) or '1'}"
        return int(self._connection().execute(sql, params).fetchone()[0])


WRITE_HERE_MAX = 8
"""The largest batch written on the loop's thread. Why a bound: a larger one (many clients at
once) would hold the loop for its whole transaction, and on the worker it runs beside the
loop on another core, its hand-off shared by its writes."""

CHECKPOINT_WAIT_MS = 200
"""How long a checkpoint waits for readers and writers before it gives up (until the next)."""

CHECKPOINT_EVERY = 200
"""Commits on the loop's thread between two checkpoints by the worker (the loop's connection
makes none: SQLite's own, every 1,000 pages, would stall the loop for the checkpoint's writes)."""


CACHE_KIB = 512
"""SQLite's page cache per connection (it has three: the worker's, the loop's writer, the
point reader), set rather than left to SQLite's default of about 2 MB. Why: it is the store's
one memory bound that fills as the tables grow (a few tens of bytes per activation until
full), and a controller's memory should level off at a bound the code states; the pages the
loop writes and reads again are the B-tree's upper levels, which fit many times over."""


def _connect(database: str | Path, **options: Any) -> sqlite3.Connection:
    """``sqlite3.connect`` with the page cache bounded to ``CACHE_KIB``."""
    conn = sqlite3.connect(database, **options)
    try:
        conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    except BaseException:
        conn.close()
        raise
    return conn


def _checked(writes: Sequence[Write]) -> builtins.list[Checked]:
    """A batch as both writing connections take it; invalid input raises for the whole batch."""
    return [(write.coll, *encode_write(write), column_value(write.doc)) for write in writes]


def _store_error(store: SQLiteStore, exc: Exception) -> Exception:
    """The store error that ``exc`` from the worker thread becomes (the one place where
    sqlite errors are mapped): unavailable when locked, unopenable or the disk is full."""
    if isinstance(exc, sqlite3.OperationalError | OSError):
        error: Exception = StoreUnavailable(f"{store!r}: {exc}")
    elif isinstance(exc, sqlite3.Error):
        error = StoreError(f"{store!r}: {exc}")
    else:
        return exc  # a Conflict or NotFound of a single write, a bug: as it is
    error.__cause__ = exc
    return error
