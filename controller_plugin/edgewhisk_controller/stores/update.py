"""``update``: read-modify-write on a store without losing concurrent updates.

Optimistic concurrency pushes retries onto callers; this is the one retry loop they share.
Each attempt reads the current document, applies ``fn`` to a copy, and writes it back with
the revision it read; a ``Conflict`` means someone else wrote in between, so it re-reads.
Retries back off exponentially with full jitter, so that many contending tasks spread out
instead of colliding again in lockstep; the cap (0.5 s) is a few dozen round trips of a
CouchDB write, which keeps 50 writers on one document well under the default retries.
"""

from __future__ import annotations

import asyncio
import copy
import random
from collections.abc import Callable, Mapping
from typing import Any

from .exceptions import Conflict, NotFound
from .interface import Doc, Store


async def update(
    store: Store,
    coll: str,
    id: str,
    fn: Callable[[Doc], Doc],
    *,
    retries: int = 32,
    default: Mapping[str, Any] | None = None,
    backoff: float = 0.002,
    max_backoff: float = 0.5,
) -> Doc:
    """Apply ``fn`` to document ``coll/id`` atomically and return the stored result.

    ``fn`` gets a deep copy of the current document (``_id`` and ``_rev`` included; it may
    mutate and return it) and returns the new one; ``_id`` and ``_rev`` are restored from the
    read, so ``fn`` cannot break the revision chain. When the document is absent, ``fn``
    gets ``{"_id": id, **default}`` and the result is created, or ``NotFound`` is raised
    if no ``default`` is given. After ``retries`` conflicting attempts, ``Conflict`` is
    raised: an update is never silently dropped.
    """
    for attempt in range(retries + 1):
        try:
            current = await store.get(coll, id)
        except NotFound:
            if default is None:
                raise
            current = {"_id": id, **copy.deepcopy(dict(default))}
        new = dict(fn(copy.deepcopy(current)))
        new["_id"] = id
        new.pop("_rev", None)
        if "_rev" in current:
            new["_rev"] = current["_rev"]
        try:
            new["_rev"] = await store.put(coll, new)
            return new
        except Conflict:
            if attempt == retries:
                raise
        await asyncio.sleep(random.uniform(0, min(max_backoff, backoff * 2**attempt)))
    raise AssertionError("unreachable")  # the loop returns or raises
