"""The SQLite store's tables: their layout, the ``start`` column, and the migration to them.

Why this layout (``edgewhisk bench``-style same-run loops over the store's own write, on the
activation record of a placed invoke, 752 bytes with its explanation, 540 without):

- An ordinary (rowid) table, with ``id`` as its unique key, not a ``WITHOUT ROWID`` one. The
  latter keeps each whole record in a tree ordered by its random id, so an insert lands on a
  random leaf page among full ones and splits and rewrites it; a rowid table appends the record
  and puts only the short id in the random-ordered index: 13-21 µs less per insert (of ~80),
  and the explanation's bytes cost about half as much (12.6 -> 6.3 µs).
- A real ``start`` column, set from the document the store already holds, for listings sorted
  on ``start`` (the activations', newest first), instead of an index on
  ``json_extract(body, '$.start')`` that parsed every record at its insert (~2 µs an insert).

A file made before (``PRAGMA user_version`` 0: ``WITHOUT ROWID`` tables, no column) is rebuilt
in place when the store opens it, once.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from typing import Any

COLUMN = "start"
"""The one top-level field kept as its own column (the activations' listing order)."""

SCHEMA_VERSION = 1
"""``PRAGMA user_version`` of a file whose tables have the ``start`` column (0: made before)."""

_INT64 = range(-(2**63), 2**63)


def table_sql(table: str) -> str:
    """The ``CREATE TABLE`` of a collection's quoted ``table`` (one statement for new and
    rebuilt tables)."""
    return (f"CREATE TABLE IF NOT EXISTS {table} "
            f"(id TEXT PRIMARY KEY, rev TEXT NOT NULL, body TEXT NOT NULL, {COLUMN})")


def column_value(doc: Mapping[str, Any]) -> Any:
    """The ``start`` column's value: what ``json_extract(body, '$.start')`` would give.

    Why the same value: a listing sorted on the column must order exactly as the expression
    index did (and as a migrated file, whose column SQLite filled from the bodies, does).
    """
    value = doc.get(COLUMN)
    if value is None or isinstance(value, str | float):
        return value
    if isinstance(value, int):  # bool included: JSON true/false extract as 1/0
        return int(value) if value in _INT64 else float(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def sort_key(field: str) -> str:
    """The SQL a listing sorted on ``field`` orders by (the column, or the body's field)."""
    return COLUMN if field == COLUMN else f"json_extract(body, '$.{field}')"


def index_name(coll: str, field: str) -> str:
    """The sort index's name; the column's differs from the expression index it replaced."""
    return f"s_{coll}__{field}" if field == COLUMN else f"i_{coll}__{field}"


def migrate(conn: sqlite3.Connection) -> None:
    """Rebuild every table of a file made before this layout, in place, once.

    One ``BEGIN IMMEDIATE`` transaction, re-checked inside it, so that of several processes
    opening the file at once one migrates and the others find it done; a failure leaves the
    file as it was. SQLite fills the column from each body (the value a write gives it). The
    table's other sort indexes are made again; the one on ``$.start`` is replaced by the
    column's (made at the first sorted listing).
    """
    if _version(conn) >= SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        if _version(conn) < SCHEMA_VERSION:
            tables = [name for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'c\\_%' "
                "ESCAPE '\\'")]
            for name in tables:
                _rebuild(conn, name)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _rebuild(conn: sqlite3.Connection, name: str) -> None:
    """Copy table ``name`` into this layout under its own name, with its sort indexes."""
    indexes = [sql for (sql,) in conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL "
        "AND name != ?", (name, f"i_{name[2:]}__{COLUMN}"))]
    conn.execute(table_sql(f'"m_{name[2:]}"'))
    conn.execute(f'INSERT INTO "m_{name[2:]}" (id, rev, body, {COLUMN}) '
                 f"SELECT id, rev, body, json_extract(body, '$.{COLUMN}') FROM \"{name}\"")
    conn.execute(f'DROP TABLE "{name}"')
    conn.execute(f'ALTER TABLE "m_{name[2:]}" RENAME TO "{name}"')
    for sql in indexes:
        conn.execute(sql)


def _version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])
