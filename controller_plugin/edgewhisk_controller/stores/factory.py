"""``open_store``: the one place a store location string becomes a backend.

The controller takes one ``--db`` string; this maps it to a backend, so that adding a
backend means one module plus one line here.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from .couchdb import CouchDBStore
from .interface import Store
from .sqlite import SQLITE_FILENAME, SQLiteStore


def open_store(location: str | Path) -> Store:
    """Return the store at ``location`` (nothing is opened until the first call).

    - ``sqlite:///abs/path/file.sqlite3``: SQLite in that file (the URL path is the file path);
    - a directory path (``Path`` or a string without a scheme): SQLite in
      ``DIR/store.sqlite3``, creating DIR on first use;
    - ``http(s)://[user:password@]host:port[/path][?prefix=edgewhisk_]``: CouchDB.
    """
    if isinstance(location, Path):
        return SQLiteStore(location / SQLITE_FILENAME)
    scheme = urlsplit(location).scheme
    if scheme == "sqlite":
        path = urlsplit(location).path
        if not path or path.endswith("/"):
            raise ValueError(f"sqlite URL must name a file (sqlite:///path), got {location!r}")
        return SQLiteStore(Path(path))
    if scheme in ("http", "https"):
        return CouchDBStore(location)
    if scheme == "" and location:
        return SQLiteStore(Path(location) / SQLITE_FILENAME)
    raise ValueError(f"unknown store location {location!r}: use a directory, sqlite:/// or http://")
