"""Documents of a few collections kept as last read, for a store whose changes feed is
followed (several controllers as one: ``cluster/join.py``).

Why: every invoke resolves its action (``dispatch/resolve.py``), one ``GET`` of the store
each time, and in a cluster the store (one pouchdb-server or CouchDB) is what bounds the
throughput, not the controllers. Actions and packages change rarely and every change reaches
each controller through the feed within one round trip, so a read may be answered from what
was read before until the feed (or this controller's own write) says the document changed.

Why a generation number: a read in flight when a change arrives may answer the document as it
was before the change; it is kept only if nothing was dropped since the read started, so a
stale answer never outlives the change that made it stale. Documents are kept as JSON text
and parsed on each hit: callers may change what they get without changing the cache.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

MAX_DOCUMENTS = 10_000  # the oldest is dropped beyond (a miss costs one read, nothing more)


class ReadCache:
    """Last-read documents of ``collections``, by (collection, id)."""

    def __init__(self, collections: Iterable[str], *, limit: int = MAX_DOCUMENTS) -> None:
        self.collections = frozenset(collections)
        self.limit = limit
        self.hits = 0
        self.misses = 0
        self._docs: dict[tuple[str, str], str] = {}
        self._generation = 0

    def lookup(self, coll: str, id: str) -> dict[str, Any] | None:
        """A copy of the document as last read, or None (then read it, and :meth:`keep`)."""
        if coll not in self.collections:
            return None
        text = self._docs.get((coll, id))
        if text is None:
            self.misses += 1
            return None
        self.hits += 1
        found: dict[str, Any] = json.loads(text)
        return found

    def token(self) -> int:
        """Taken before a read: :meth:`keep` keeps its answer only if nothing changed since."""
        return self._generation

    def keep(self, coll: str, id: str, doc: dict[str, Any], token: int) -> None:
        """Keep ``doc`` as read (started at ``token``) unless a change came since."""
        if coll not in self.collections or token != self._generation:
            return
        if len(self._docs) >= self.limit:
            del self._docs[next(iter(self._docs))]
        self._docs[(coll, id)] = json.dumps(doc)

    def drop(self, coll: str, id: str) -> None:
        """``coll/id`` changed (a write of this controller, or the feed's): read it again."""
        if coll in self.collections:
            self._generation += 1
            self._docs.pop((coll, id), None)
