"""The SQL of the SQLite store's writes and selections (``sqlite.py``). The writes are shared
by its two writing connections, the worker thread's and the event loop's (group-commit
batches): both run the same transaction and the same revision check, stated once here.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from .exceptions import Conflict, NotFound
from .interface import PREFIX_END, Scalar, WriteResult, stale
from .sqlite_schema import COLUMN

T = TypeVar("T")

Checked = tuple[str, str, str | None, str | None, Any]
"""One write as ``encode_write`` checked it: collection, id, rev, text (None: delete), column."""

def transaction(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    """Run ``work`` in one IMMEDIATE transaction: the write lock is taken before reading."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = work(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


def apply(conn: sqlite3.Connection, writes: builtins.list[Checked]) -> builtins.list[WriteResult]:
    """The writes of a batch inside the caller's transaction; a refused one refuses itself."""
    results: builtins.list[WriteResult] = []
    for coll, id, rev, text, column in writes:
        table = f'"c_{coll}"'
        try:
            if text is None:
                delete_row(conn, table, coll, id, rev or "")
                results.append(None)
            else:
                results.append(put_row(conn, table, coll, id, rev, text, column))
        except (Conflict, NotFound) as exc:  # checked before any change: skip it
            results.append(exc)
    return results


def put_row(conn: sqlite3.Connection, table: str, coll: str, id: str, rev: str | None,
             text: str, column: Any) -> str:
    """Put one document inside the caller's transaction; its new revision."""
    row = conn.execute(f"SELECT rev FROM {table} WHERE id = ?", (id,)).fetchone()
    current = None if row is None else row[0]
    if rev != current:
        raise stale(coll, id, rev)
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


def delete_row(conn: sqlite3.Connection, table: str, coll: str, id: str, rev: str) -> None:
    """Delete one document inside the caller's transaction."""
    row = conn.execute(f"SELECT rev FROM {table} WHERE id = ?", (id,)).fetchone()
    if row is None:
        raise NotFound(f"{coll}/{id}")
    if row[0] != rev:
        raise stale(coll, id, rev)
    conn.execute(f"DELETE FROM {table} WHERE id = ?", (id,))


def selection(prefix: str | None, filters: dict[str, Scalar]) -> tuple[list[str], list[Any]]:
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
