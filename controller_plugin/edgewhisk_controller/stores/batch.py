"""``GroupCommit``: the writes of concurrent tasks, committed together.

Why: a commit (an fsync of SQLite's WAL, a CouchDB request) costs the same for one document as
for fifty. Every task that must know its write is durable before it goes on (an activation
acknowledged with a 202 or answered with a 200) submits its writes here and waits; one batch at
a time goes to the store (``Store.write_many_soon``: no task, no future per commit), holding
whatever has queued meanwhile. Under no load a write goes out
at once (no timer, no added latency); under load each commit carries every write that arrived
while the previous one ran, so commits per second stay bounded while writes per second grow.

A submitted write is applied even if its submitter is cancelled (the batch owns it), so a
shutdown never leaves half of a batch unwritten; ``close`` waits for what was submitted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from .exceptions import StoreUnavailable
from .interface import Store, Write, WriteResult

log = logging.getLogger(__name__)

MAX_BATCH = 512
"""Writes per commit at most: bounds one transaction's time and one ``_bulk_docs`` body."""


@dataclass
class _Queued:
    writes: Sequence[Write]
    done: asyncio.Future[list[WriteResult]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future())


@dataclass
class Stats:
    """What the group commit did so far (the benchmark prints it)."""

    commits: int = 0
    writes: int = 0


class GroupCommit:
    def __init__(self, store: Store, *, max_batch: int = MAX_BATCH) -> None:
        self.store = store
        self.max_batch = max_batch
        self.stats = Stats()
        self._queue: list[_Queued] = []
        self._writing = False  # a batch is with the store (one at a time)
        self._drained: asyncio.Future[None] | None = None  # close() waits on it
        self._closed = False

    async def submit(self, writes: Sequence[Write]) -> list[WriteResult]:
        """Write ``writes`` (in order, in one commit) with whatever else is queued; their
        results once durable. A cancelled caller does not cancel the write."""
        if self._closed:
            raise StoreUnavailable("the group commit is closed")
        queued = self.enqueue(writes)
        return await asyncio.shield(queued.done)

    def enqueue(self, writes: Sequence[Write]) -> _Queued:
        """Queue ``writes`` without waiting (``.done`` resolves once they are durable)."""
        queued = _Queued(writes)
        self._queue.append(queued)
        if not self._writing:
            self._send()
        return queued

    async def close(self) -> None:
        """Refuse new writes; wait for the queued ones. Idempotent."""
        self._closed = True
        if self._writing:
            if self._drained is None:
                self._drained = asyncio.get_running_loop().create_future()
            await asyncio.shield(self._drained)

    def _send(self) -> None:
        """Hand the next batch to the store (``Store.write_many_soon``: no task, no future per
        commit); ``_landed`` sends the one after. Nothing queued: drained."""
        if not self._queue:
            self._writing = False
            if self._drained is not None and not self._drained.done():
                self._drained.set_result(None)
            return
        self._writing = True
        taken, size = 0, 0
        while taken < len(self._queue) and (
                taken == 0 or size + len(self._queue[taken].writes) <= self.max_batch):
            size += len(self._queue[taken].writes)
            taken += 1
        batch, self._queue = self._queue[:taken], self._queue[taken:]
        writes = [write for queued in batch for write in queued.writes]
        try:
            self.store.write_many_soon(writes, lambda outcome: self._landed(batch, outcome))
        except Exception as exc:  # the store could not even take it: the batch's error
            asyncio.get_running_loop().call_soon(self._landed, batch, exc)

    def _landed(self, batch: list[_Queued], outcome: list[WriteResult] | Exception) -> None:
        """Every submitter of ``batch`` hears its results (or the batch's error); then the
        next batch goes."""
        try:
            if isinstance(outcome, Exception):
                log.warning("a group commit of %d writes failed: %r",
                            sum(len(queued.writes) for queued in batch), outcome)
                for queued in batch:
                    if not queued.done.done():
                        queued.done.set_exception(outcome)
                        queued.done.exception()  # retrieved: a cancelled caller is no error
                return
            self.stats.commits += 1
            self.stats.writes += len(outcome)
            start = 0
            for queued in batch:
                end = start + len(queued.writes)
                if not queued.done.done():
                    queued.done.set_result(outcome[start:end])
                start = end
        finally:
            self._send()
