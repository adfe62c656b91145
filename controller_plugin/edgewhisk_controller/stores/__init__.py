"""Document stores of the controller: one interface, two backends, one factory.

``Store`` (interface.py) is the contract; ``SQLiteStore`` (sqlite.py) is the embedded
default and ``CouchDBStore`` (couchdb.py) the production backend; ``open_store``
(factory.py) picks one from a location string; ``update`` (update.py) is the
read-modify-write loop on top of optimistic concurrency; ``Store.write_many`` applies a batch
of ``Write``s at once (group commit). Errors: exceptions.py.
"""

from .couchdb import CouchDBStore
from .exceptions import Conflict, NotFound, StoreError, StoreUnavailable
from .factory import open_store
from .interface import Doc, Scalar, Store, Write, WriteResult
from .sqlite import SQLiteStore
from .update import update

__all__ = [
    "Conflict",
    "CouchDBStore",
    "Doc",
    "NotFound",
    "SQLiteStore",
    "Scalar",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "Write",
    "WriteResult",
    "open_store",
    "update",
]
