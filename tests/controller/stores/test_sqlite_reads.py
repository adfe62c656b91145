"""The SQLite store's point reads on the event loop's thread (``stores/sqlite.py``).

Why their own tests: a ``get`` reads through a second, read-only connection without a busy
timeout, and hands over to the worker thread whatever it cannot do at once. The contract suite
covers what a get answers; these check the hand-overs (before the file or the collection's
table exists), that a read sees each write committed on the worker thread at once, and that a
read kept while no other connection commits (``sqlite_reads.py``) is never served after a write.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from edgewhisk_controller.stores import NotFound, Write
from edgewhisk_controller.stores.sqlite import SQLiteStore
from edgewhisk_controller.stores.sqlite_reads import VersionedReads


def test_a_get_before_the_file_or_table_exists_is_not_found(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = SQLiteStore(tmp_path / "new" / "store.sqlite3")
        try:
            with pytest.raises(NotFound):
                await store.get("actions", "a")
            await store.put("actions", {"_id": "a", "n": 1})
            assert (await store.get("actions", "a"))["n"] == 1
            with pytest.raises(NotFound):  # the file exists, the collection's table does not
                await store.get("rules", "r")
        finally:
            await store.close()
    asyncio.run(scenario())


def test_a_get_sees_every_committed_write_at_once(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = SQLiteStore(tmp_path / "store.sqlite3")
        try:
            rev = await store.put("actions", {"_id": "a", "n": 0})
            for n in range(1, 20):
                rev = await store.put("actions", {"_id": "a", "_rev": rev, "n": n})
                doc = await store.get("actions", "a")
                assert (doc["n"], doc["_rev"]) == (n, rev)
        finally:
            await store.close()
    asyncio.run(scenario())


async def _soon(store: SQLiteStore, writes: list[Write]) -> Any:
    delivered: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    store.write_many_soon(writes, delivered.set_result)
    return await delivered


def test_a_kept_read_never_outlives_a_write_of_any_connection(tmp_path: Path) -> None:
    """Reads are kept once the loop writes (``sqlite_reads.py``): each kind of write after a
    kept read is seen by the next get -- the worker's, the loop's own batch, another store's
    connection on the same file (as another process) -- and a hit is a copy."""
    async def scenario() -> None:
        path = tmp_path / "store.sqlite3"
        store, other = SQLiteStore(path), SQLiteStore(path)
        try:
            rev = await store.put("actions", {"_id": "a", "n": 0})
            await _soon(store, [Write("actions", {"_id": "b"})])  # the loop's writer opens
            assert store._writer is not None  # noqa: SLF001
            for n, write in enumerate(("worker", "loop", "other"), start=1):
                for _ in range(2):  # the second read is the kept one
                    assert (await store.get("actions", "a"))["n"] == n - 1
                doc = {"_id": "a", "_rev": rev, "n": n}
                if write == "worker":
                    rev = await store.put("actions", doc)
                elif write == "loop":
                    rev = (await _soon(store, [Write("actions", doc)]))[0]
                else:
                    rev = await other.put("actions", doc)
                got = await store.get("actions", "a")
                assert (got["n"], got["_rev"]) == (n, rev), write
                got["n"] = "changed by the caller"
            assert (await store.get("actions", "a"))["n"] == 3
        finally:
            await store.close()
            await other.close()
    asyncio.run(scenario())


def test_versioned_reads_hold_until_another_connection_commits(tmp_path: Path) -> None:
    path = tmp_path / "v.sqlite3"
    own = sqlite3.connect(path, isolation_level=None)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        own.execute("PRAGMA journal_mode=WAL")
        own.execute("CREATE TABLE t (x)")
        reads = VersionedReads()
        assert reads.lookup(own, "c", "a") is None
        reads.keep("c", "a", ("1-x", "{}"))
        own.execute("INSERT INTO t VALUES (1)")  # its own commit: still valid
        assert reads.lookup(own, "c", "a") == ("1-x", "{}")
        reads.forget([("c", "a")])
        assert reads.lookup(own, "c", "a") is None
        reads.keep("c", "a", ("1-x", "{}"))
        other.execute("INSERT INTO t VALUES (2)")  # another connection's commit
        assert reads.lookup(own, "c", "a") is None
        reads.keep("c", "a", ("2-y", "{}"))
        reads.reset()
        assert reads.lookup(own, "c", "a") is None
    finally:
        own.close()
        other.close()
