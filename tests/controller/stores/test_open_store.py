"""The factory and the package surface: which location opens which backend, what is public."""

from __future__ import annotations

from pathlib import Path

import edgewhisk_controller.stores as stores
import pytest
from edgewhisk_controller.stores import CouchDBStore, SQLiteStore, open_store


@pytest.mark.parametrize("location, kind, where", [
    pytest.param("sqlite:///var/lib/ew/db.sqlite3", SQLiteStore, "/var/lib/ew/db.sqlite3",
                 id="a sqlite URL names the file"),
    pytest.param("/var/lib/ew", SQLiteStore, "/var/lib/ew/store.sqlite3",
                 id="a directory path keeps store.sqlite3 in it"),
    pytest.param(Path("data"), SQLiteStore, "data/store.sqlite3",
                 id="a Path is a directory too"),
    pytest.param("http://127.0.0.1:5984", CouchDBStore, "http://127.0.0.1:5984|edgewhisk_",
                 id="an http URL is CouchDB with the default database prefix"),
    pytest.param("https://admin:s3cret@db.example:6984/couch/?prefix=edge_", CouchDBStore,
                 "https://db.example:6984/couch|edge_",
                 id="credentials and the prefix are taken out of the CouchDB URL"),
])
def test_open_store_picks_the_backend_from_the_location(location, kind, where):
    store = open_store(location)
    assert type(store) is kind
    if isinstance(store, SQLiteStore):
        assert store.path == Path(where)
    else:
        assert f"{store.url}|{store.prefix}" == where
        assert "s3cret" not in repr(store)


@pytest.mark.parametrize("location", [
    pytest.param("", id="an empty location"),
    pytest.param("ftp://host/db", id="an unknown scheme"),
    pytest.param("sqlite://", id="a sqlite URL without a file"),
    pytest.param("http://127.0.0.1:5984/?prefix=Upper", id="a prefix CouchDB would refuse"),
])
def test_open_store_refuses_locations_it_cannot_serve(location):
    with pytest.raises(ValueError):
        open_store(location)


def test_the_public_surface_is_exactly_this():
    assert sorted(stores.__all__) == [
        "Conflict", "CouchDBStore", "Doc", "NotFound", "SQLiteStore", "Scalar", "Store",
        "StoreError", "StoreUnavailable", "Write", "WriteResult", "open_store", "update",
    ]
    for name in stores.__all__:
        assert getattr(stores, name) is not None


def test_the_error_tree_is_one_base_with_three_kinds():
    for kind in (stores.NotFound, stores.Conflict, stores.StoreUnavailable):
        assert kind.__bases__ == (stores.StoreError,)
