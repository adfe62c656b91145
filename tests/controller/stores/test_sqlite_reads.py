"""The SQLite store's point reads on the event loop's thread (``stores/sqlite.py``).

Why their own tests: a ``get`` reads through a second, read-only connection without a busy
timeout, and hands over to the worker thread whatever it cannot do at once. The contract suite
covers what a get answers; these check the hand-overs (before the file or the collection's
table exists) and that a read sees each write committed on the worker thread at once.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from edgewhisk_controller.stores import NotFound
from edgewhisk_controller.stores.sqlite import SQLiteStore


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
