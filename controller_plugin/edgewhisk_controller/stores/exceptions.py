"""Errors raised by every store backend.

Hierarchy::

    StoreError              anything a store could not do (a bug or a broken backend)
    ├── NotFound            the document (or its collection) does not exist
    ├── Conflict            the `_rev` given is not the document's current revision
    └── StoreUnavailable    the backend cannot be reached or opened right now

Backends translate their own errors (``sqlite3.Error``, aiohttp's client errors, CouchDB's
status codes) into these exactly once, at the backend boundary, with ``raise ... from exc``:
callers such as the API's error middleware never see a backend-specific exception.
Invalid input (a malformed document, an unknown collection name) is a programming error and
raises ``ValueError`` before the backend is touched.
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class of every store error."""


class NotFound(StoreError):
    """The document or collection does not exist."""


class Conflict(StoreError):
    """The revision given does not match the current one (someone else wrote first)."""


class StoreUnavailable(StoreError):
    """The backend cannot be reached or opened (connection refused, locked, closed store)."""
