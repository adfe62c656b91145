"""Point reads on the loop kept while no other connection has committed to the file.

Why: every invoke reads its action (``dispatch/resolve.py``), and a SQLite connection that
sees another connection's commit drops its page cache and reads the pages again through the
WAL; under load the group commit commits between any two reads, so each read cost ~45 us of
CPU in a running controller (``docs/hotpath.md``, fifth round). ``PRAGMA data_version`` on the
loop's writing connection changes exactly when any *other* connection (the worker thread's,
another process's) has committed since it last looked, and not for that connection's own
commits; those the store reports here (``forget``). So a row read while the version holds is
the row as stored until the version moves or the loop's connection writes that document.
Rows are kept as the store's text and parsed on each hit: callers may change what they get.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

KEPT = 1024
"""Rows kept at most; all are forgotten beyond (a miss costs one read, nothing more)."""

Row = tuple[str, str]  # (rev, body text), as the table holds them


class VersionedReads:
    """Rows by (collection, id), valid for one ``data_version`` of one connection."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], Row] = {}
        self._version: object = None

    def lookup(self, conn: sqlite3.Connection, coll: str, id: str) -> Row | None:
        """The row as kept, if nothing else committed since it was read (raises
        ``sqlite3.Error`` when the version cannot be read: the caller reads as before)."""
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        if version != self._version:
            self._rows.clear()
            self._version = version
        return self._rows.get((coll, id))

    def keep(self, coll: str, id: str, row: Row) -> None:
        """``row`` read just after a ``lookup`` (the version it checked holds for it)."""
        if len(self._rows) >= KEPT:
            self._rows.clear()
        self._rows[(coll, id)] = row

    def forget(self, keys: Iterable[tuple[str, str]]) -> None:
        """Documents the loop's own connection wrote (its commits move no version)."""
        for key in keys:
            self._rows.pop(key, None)

    def reset(self) -> None:
        """The loop's connection was closed: another one has versions of its own."""
        self._rows.clear()
        self._version = None
