"""The SQLite store's schema beyond (id, rev, body): the ``start`` column and its migration.

Why a column: the activations are listed newest first, sorted on ``start``. An index on
``json_extract(body, '$.start')`` made every insert parse the whole record (an activation's
placement explanation cost 7-11 µs an insert in its bytes alone); a column written from the
document the store already holds costs nothing to index. A file made before the column
(``PRAGMA user_version`` 0) is migrated in place when the store opens it, once.
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
    """Give every table of a file made before the ``start`` column that column, in place.

    One ``BEGIN IMMEDIATE`` transaction, re-checked inside it, so that of several processes
    opening the file at once one migrates and the others find it done. The column is filled by
    SQLite from each body (the same value a write gives it); the expression index on
    ``$.start`` it replaces is dropped (the column's is made at the first sorted listing).
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
                columns = {row[1] for row in conn.execute(f'PRAGMA table_info("{name}")')}
                if COLUMN not in columns:
                    conn.execute(f'ALTER TABLE "{name}" ADD COLUMN {COLUMN}')
                    conn.execute(
                        f"UPDATE \"{name}\" SET {COLUMN} = json_extract(body, '$.{COLUMN}')")
                conn.execute(f'DROP INDEX IF EXISTS "i_{name[2:]}__{COLUMN}"')
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])
