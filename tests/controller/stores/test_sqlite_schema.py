"""The SQLite store's table layout (``stores/sqlite_schema.py``) and the in-place migration.

Why their own tests: the contract suite checks what a listing answers on a new file; these
check that a file written by the previous version (``WITHOUT ROWID`` tables without the
``start`` column, a sort index on ``json_extract(body, '$.start')``) lists the same after the
new code opened it, that the migration runs once, and that the sorted listing reads the
column's index.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from edgewhisk_controller.stores.sqlite import SQLiteStore

# The previous version's schema and sorted listing, as it wrote and ran them.
OLD_TABLE = ('CREATE TABLE "c_{coll}" (id TEXT PRIMARY KEY, rev TEXT NOT NULL, body TEXT NOT NULL)'
             " WITHOUT ROWID")
OLD_INDEX = ('CREATE INDEX "i_{coll}__{field}" ON "c_{coll}" '
             "(json_extract(body, '$.{field}'), id)")
OLD_LISTING = ("SELECT id, rev, body FROM \"c_activations\" WHERE json_type(body, '$.namespace') "
               "= 'text' AND json_extract(body, '$.namespace') = ? AND json_type(body, '$.start') "
               "IS NOT NULL ORDER BY json_extract(body, '$.start') {direction}, id {direction} "
               "LIMIT ? OFFSET ?")

STARTS: list[Any] = [1796592420435, 1796592420400, 1796592420435, 17965924204.5, None, "late",
                     True, 0, -3, 2**63 + 5, [1, 2], {"at": 1}]
"""A record's ``start`` as a previous version may have stored it: ties, a float, null, odd types."""


def _old_file(path: Path) -> None:
    """A file as the previous version left it: activations (one without start) and artifacts."""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.execute("PRAGMA journal_mode=WAL")
        for coll in ("activations", "artifacts"):
            db.execute(OLD_TABLE.format(coll=coll))
        db.execute(OLD_INDEX.format(coll="activations", field="start"))
        db.execute(OLD_INDEX.format(coll="artifacts", field="version"))
        rows = [(f"guest/{n:02d}", {"namespace": "guest", "name": "a", "start": start})
                for n, start in enumerate(STARTS)]
        rows += [("guest/nostart", {"namespace": "guest", "name": "a"}),
                 ("other/00", {"namespace": "other", "name": "a", "start": 5})]
        db.executemany('INSERT INTO "c_activations" VALUES (?, ?, ?)',
                       [(id, "1-" + "0" * 32, json.dumps(body, separators=(",", ":")))
                        for id, body in rows])
        db.executemany('INSERT INTO "c_artifacts" VALUES (?, ?, ?)',
                       [(f"guest/m@{v}", "1-" + "0" * 32, json.dumps({"version": v}))
                        for v in (3, 1, 2)])


def _old_listing(path: Path, descending: bool, limit: int, skip: int) -> list[str]:
    direction = "DESC" if descending else "ASC"
    with contextlib.closing(sqlite3.connect(path)) as db:
        return [id for id, _, _ in db.execute(OLD_LISTING.format(direction=direction),
                                              ("guest", limit, skip))]


def _rows(path: Path) -> set[tuple[str, str, str, str]]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return {(coll, *row) for coll in ("activations", "artifacts")
                for row in db.execute(f'SELECT id, rev, body FROM "c_{coll}"')}


PAGES = [(True, -1, 0), (False, -1, 0), (True, 3, 2), (False, 4, 5)]


def test_a_file_made_before_the_column_lists_the_same_after_it_is_opened(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    _old_file(path)
    before = {page: _old_listing(path, *page) for page in PAGES}
    rows = _rows(path)

    async def scenario() -> dict[Any, list[str]]:
        store = SQLiteStore(path)
        try:
            artifacts = await store.list("artifacts", sort="version", descending=True)
            assert [doc["_id"] for doc in artifacts] == [f"guest/m@{v}" for v in (3, 2, 1)]
            return {(descending, limit, skip): [doc["_id"] for doc in await store.list(
                "activations", filters={"namespace": "guest"}, sort="start",
                descending=descending, limit=None if limit < 0 else limit, skip=skip)]
                for descending, limit, skip in PAGES}
        finally:
            await store.close()
    after = asyncio.run(scenario())
    assert after == before
    assert _rows(path) == rows  # every id, revision and body as they were
    assert len(before[(True, -1, 0)]) == len(STARTS)  # every record with a start, of guest only
    assert before[(True, 3, 2)] == before[(True, -1, 0)][2:5]
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 1
        indexes = {name for (name,) in db.execute("SELECT name FROM sqlite_master "
                                                  "WHERE type = 'index' AND sql IS NOT NULL")}
        assert indexes == {"s_activations__start", "i_artifacts__version"}  # the old one dropped
        for (sql,) in db.execute("SELECT sql FROM sqlite_master WHERE type = 'table'"):
            assert "start" in sql and "WITHOUT ROWID" not in sql
        plan = " ".join(str(row) for row in db.execute(
            "EXPLAIN QUERY PLAN " + "SELECT id FROM c_activations ORDER BY start DESC, id DESC"))
        assert "s_activations__start" in plan


def test_the_migration_runs_once_and_new_writes_sort_among_migrated_records(
        tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    _old_file(path)

    async def listing(write: bool) -> list[str]:
        store = SQLiteStore(path)
        try:
            if write:
                await store.write_many([])
                await store.put("activations", {"_id": "guest/new", "namespace": "guest",
                                                "start": 1796592420401})
            return [doc["_id"] for doc in await store.list(
                "activations", filters={"namespace": "guest"}, sort="start", descending=True,
                limit=3, skip=4)]  # after the three text values and 2**63 + 5
        finally:
            await store.close()
    assert asyncio.run(listing(write=True)) == ["guest/02", "guest/00", "guest/new"]
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
        # Were the file migrated again, the column would be refilled from the body.
        db.execute("UPDATE c_activations SET start = 0 WHERE id = 'guest/02'")
    assert asyncio.run(listing(write=False)) == ["guest/00", "guest/new", "guest/01"]


OPENER = """
import asyncio, json, sys
from edgewhisk_controller.stores.sqlite import SQLiteStore

async def main(path):
    print("ready", flush=True)
    sys.stdin.readline()
    store = SQLiteStore(path)
    try:
        docs = await store.list("activations", filters={"namespace": "guest"}, sort="start",
                                descending=True)
        print(json.dumps([doc["_id"] for doc in docs]), flush=True)
    finally:
        await store.close()

asyncio.run(main(sys.argv[1]))
"""


def test_processes_opening_an_old_file_at_once_all_list_what_it_held(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    _old_file(path)
    before, rows = _old_listing(path, True, -1, 0), _rows(path)
    openers = [subprocess.Popen([sys.executable, "-c", OPENER, str(path)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True) for _ in range(3)]
    try:
        for opener in openers:  # every one imported before any opens the file
            assert opener.stdout is not None
            assert opener.stdout.readline() == "ready\n"
        for opener in openers:
            assert opener.stdin is not None
            opener.stdin.write("go\n")
            opener.stdin.flush()
        answers = [opener.communicate(timeout=120)[0] for opener in openers]
        assert [opener.returncode for opener in openers] == [0, 0, 0]
    finally:
        for opener in openers:
            if opener.poll() is None:
                opener.kill()
                opener.wait()
    assert [json.loads(answer) for answer in answers] == [before] * 3
    assert _rows(path) == rows


@pytest.mark.parametrize("start", STARTS, ids=repr)
def test_a_write_sets_the_column_to_what_sqlite_extracts_from_the_body(
        tmp_path: Path, start: Any) -> None:
    async def scenario() -> None:
        store = SQLiteStore(tmp_path / "store.sqlite3")
        try:
            await store.put("activations", {"_id": "a", "start": start})
        finally:
            await store.close()
    asyncio.run(scenario())
    with contextlib.closing(sqlite3.connect(tmp_path / "store.sqlite3")) as db:
        column, extracted = db.execute(
            "SELECT start, json_extract(body, '$.start') FROM c_activations").fetchone()
    assert (type(column), column) == (type(extracted), extracted)
