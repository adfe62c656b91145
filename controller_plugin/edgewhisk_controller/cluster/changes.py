"""Following the other controllers' writes through CouchDB's changes feed.

Why the feed and not Redis: the store is the one source of truth and CouchDB orders its
changes; a controller that misses a message would otherwise hold a stale cache for good. Each
followed collection has one long-polling reader that starts from ``now`` (what was written
before was read from the store on first use) and hands every changed document to its
handler: the artifact registry's selector index, the authenticator's key cache. A change
shows up on the others within one round trip of the feed (well under the 1 s the cluster
promises; ``tests/cluster/test_changes.py`` measures it).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from ..background import Tasks
from .tasks import forever

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[None] | None]
WAIT_S = 20.0


class ChangesSource(Protocol):
    """A store with a changes feed (``stores.couchdb.CouchDBStore.changes``)."""

    async def changes(self, coll: str, since: str,
                      wait_s: float) -> tuple[list[dict[str, Any]], str]: ...


class Follower:
    """One reader per collection of ``handlers``; :meth:`start` returns once each has its
    starting sequence, so a write after it is never missed."""

    def __init__(self, store: ChangesSource,
                 handlers: Mapping[str, Handler]) -> None:
        self.store = store
        self.handlers = dict(handlers)
        self.seen = 0  # documents handed to handlers (metrics, tests)
        self._loops = Tasks("changes feed")

    async def start(self) -> None:
        for coll in self.handlers:
            _, since = await self.store.changes(coll, "now", wait_s=0)
            self._loops.spawn(self._follow(coll, since))

    async def _follow(self, coll: str, since: str) -> None:
        """Read ``coll``'s feed for the controller's life; the store away is retried from
        the same sequence (:func:`forever`)."""
        handler = self.handlers[coll]

        async def step() -> None:
            nonlocal since
            docs, since = await self.store.changes(coll, since, wait_s=WAIT_S)
            for doc in docs:
                try:
                    done = handler(doc)
                    if done is not None:
                        await done
                except Exception:
                    log.exception("changes feed of %s: handling %s failed", coll,
                                  doc.get("_id"))
                self.seen += 1

        await forever(step, f"changes feed of {coll}")

    async def close(self) -> None:
        await self._loops.close(timeout=None)
