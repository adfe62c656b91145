"""The activations' durable state: an ``accepted`` document before an activation is
acknowledged, its final record before a blocking answer, both group-committed.

Why: work the controller acknowledged must survive a crash (issue 16). An activation id
handed out (a 202, a trigger's or a fan-out's ids) always has either its ``accepted`` document
or its record on disk, so start-up recovery (``recovery.py``) finds everything in flight and
never answers 404 for it; a blocking 200 is answered only once its record is stored.

What it costs, and why it is cheap: every write goes through ``stores.GroupCommit``, so the
writes of concurrent activations share one commit; a final record and the deletion of its
``accepted`` document are one transaction (SQLite) or two requests in that order (CouchDB).
An activation is registered in memory when it starts and written as accepted only when its id
is about to be handed out (``accept``): a blocking invoke answered within its wait never needs
an ``accepted`` document, only its record. An activation handed to an invoker that outlives
the controller (an edge device) is written with that invoker first (``placed``), so that
recovery waits for the device instead of running it twice.

``durable=False`` is the previous behaviour, kept for the controller benchmark only: nothing
is written before an answer, records are written behind it, a crash loses both.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..schema import activation as act
from ..stores import Store, Write, WriteResult
from ..stores.batch import GroupCommit

log = logging.getLogger(__name__)


def _log_failure(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("an activation could not be recorded", exc_info=task.exception())


@dataclass
class _Entry:
    """An activation started and not finished: its ``accepted`` body, and how far it got."""

    body: dict[str, Any]
    rev: str | None = None  # the stored accepted document's revision
    writing: asyncio.Future[list[WriteResult]] | None = None  # a write of it in flight


class Journal:
    def __init__(self, store: Store, *, durable: bool = True) -> None:
        self.durable = durable
        self.commits = GroupCommit(store)
        self._live: dict[str, _Entry] = {}
        self._finishing: dict[str, asyncio.Future[None]] = {}  # final records in flight
        self.owner: str | None = None
        """This controller's id in a cluster (``--cluster-id``): stamped on every accepted
        document, so that only it, or the one taking over when it dies, finishes it."""
        self.incarnation: int | None = None
        """Its start under that id (stamped too): a takeover of a dead incarnation leaves
        the documents of the one started since alone."""

    def register(self, activation_id: str, body: act.AcceptedDoc, *,
                 rev: str | None = None) -> None:
        """An activation starts (``rev``: its accepted document is stored already, as for
        one that recovery resumes). Nothing is written yet."""
        entry = _Entry(dict(body), rev)
        if self.owner is not None:
            entry.body["owner"] = self.owner
        if self.incarnation is not None:
            entry.body["incarnation"] = self.incarnation
        self._live[activation_id] = entry

    async def accept(self, ids: Iterable[str]) -> None:
        """Until every activation of ``ids`` is durably accepted or recorded: call it before
        handing an id out. One commit for all of them (and whatever else is queued)."""
        if not self.durable:
            return
        waits: list[asyncio.Future[Any]] = []
        for activation_id in ids:
            entry = self._live.get(activation_id)
            if entry is None:  # finished: its record is stored or on its way
                if activation_id in self._finishing:
                    waits.append(self._finishing[activation_id])
            elif entry.rev is None:
                if entry.writing is None:
                    entry.writing = self._write(entry)
                waits.append(entry.writing)
        for wait in waits:
            await asyncio.shield(wait)

    def live(self, ns: str) -> list[dict[str, Any]]:
        """The activations of ``ns`` started and not finished (what the console's pending
        page lists): id, name, start, and the invoker it was handed to if it was."""
        return [{k: e.body.get(k) for k in ("activationId", "name", "start", "invoker")}
                for e in self._live.values() if e.body.get("namespace") == ns]

    def placed_on(self, activation_id: str) -> str | None:
        """The invoker the activation was last recorded as handed to (``placed``)."""
        entry = self._live.get(activation_id)
        return None if entry is None else entry.body.get("invoker")

    async def placed(self, activation_id: str, invoker_id: str | None,
                     artifacts: dict[str, Any] | None = None) -> None:
        """Until the activation is durably recorded as handed to ``invoker_id``, an invoker
        whose runs outlive the controller (recovery waits for it to reconnect), with what
        registering its outputs needs (``artifacts``, ``dispatch.artifacts.journaled``);
        None: to one that does not (re-dispatched from an edge invoker to a local one)."""
        entry = self._live.get(activation_id)
        if not self.durable or entry is None:
            return
        while entry.writing is not None:
            await asyncio.shield(entry.writing)
        entry.body.pop("artifacts", None)
        entry.body.pop("pending", None)  # placed: it no longer waits
        if invoker_id is None:
            entry.body.pop("invoker", None)
        else:
            entry.body["invoker"] = invoker_id
            if artifacts is not None:
                entry.body["artifacts"] = artifacts
        entry.writing = self._write(entry)
        await asyncio.shield(entry.writing)

    def pending_of(self, activation_id: str) -> dict[str, Any] | None:
        """What the accepted document says the activation waits for (``pending.py``)."""
        entry = self._live.get(activation_id)
        return None if entry is None else entry.body.get("pending")

    async def pending(self, activation_id: str, info: dict[str, Any]) -> None:
        """Until the activation is durably accepted as pending with ``info`` (since, until,
        what it waits for): recovery then lets it wait again instead of failing it, since it
        never ran. ``placed`` drops the mark before it runs anywhere."""
        entry = self._live.get(activation_id)
        if not self.durable or entry is None:
            return
        while entry.writing is not None:
            await asyncio.shield(entry.writing)
        entry.body["pending"] = info
        entry.writing = self._write(entry)
        await asyncio.shield(entry.writing)

    async def finish(self, rec: act.ActivationRecord, *, behind: bool = False
                     ) -> act.ActivationRecord:
        """Store the final record (and drop the ``accepted`` document) in one commit; return
        once it is durable, or at once with ``behind`` (then ``written`` waits for it).

        The writes are queued before the first ``await`` whenever the accepted document's
        revision is known (nearly always), so a cancelled caller never cancels them, and no
        task is needed for them."""
        activation_id = rec["activationId"]
        entry = self._live.pop(activation_id, None)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._finishing[activation_id] = done
        done.add_done_callback(lambda _: self._finishing.pop(activation_id, None))
        if entry is not None and entry.writing is not None:  # its revision is on its way
            stored: asyncio.Future[None] = asyncio.ensure_future(
                self._store_final(rec, entry, done))
        else:
            stored = self._queue_final(rec, entry, done)
        if behind:
            stored.add_done_callback(_log_failure)
        else:
            await asyncio.shield(stored)
        return rec

    def forget(self, activation_id: str) -> None:
        """An activation registered and never started (its acceptance failed)."""
        self._live.pop(activation_id, None)

    async def written(self, activation_id: str | None = None) -> None:
        """Until the final records on their way (of ``activation_id``, or all) are stored or
        failed; readers call it so that a record answered behind is found."""
        if activation_id is None:
            pending = set(self._finishing.values())
        else:
            found = self._finishing.get(activation_id)
            pending = {found} if found is not None else set()
        if pending:
            await asyncio.wait(pending)

    async def close(self) -> None:
        """Wait for every write submitted so far; refuse new ones."""
        await self.commits.close()

    # -- writes -----------------------------------------------------------------------------

    def _write(self, entry: _Entry) -> asyncio.Future[list[WriteResult]]:
        doc = {"_id": entry.body["activationId"], **entry.body}
        if entry.rev is not None:
            doc["_rev"] = entry.rev
        queued = self.commits.enqueue([Write(act.ACCEPTED, doc)]).done
        queued.add_done_callback(lambda done: self._written(entry, done))
        return queued

    @staticmethod
    def _written(entry: _Entry, done: asyncio.Future[list[WriteResult]]) -> None:
        entry.writing = None
        if not done.cancelled() and done.exception() is None:
            (result,) = done.result()
            if isinstance(result, str):
                entry.rev = result

    async def _store_final(self, rec: act.ActivationRecord, entry: _Entry,
                           done: asyncio.Future[None]) -> None:
        """``_queue_final`` once the accepted document's write in flight has its revision."""
        try:
            while entry.writing is not None:
                await asyncio.shield(entry.writing)
        except BaseException:
            pass  # it failed: there is no document to drop
        await self._queue_final(rec, entry, done)

    def _queue_final(self, rec: act.ActivationRecord, entry: _Entry | None,
                     done: asyncio.Future[None]) -> asyncio.Future[None]:
        """Queue the record (and the deletion of the accepted document); the future ends when
        they are durable (or raises why not), and ``done`` (readers) in either case."""
        writes = [Write(act.COLLECTION, act.to_doc(rec))]
        if entry is not None and entry.rev is not None:
            writes.append(Write(act.ACCEPTED, {"_id": rec["activationId"], "_rev": entry.rev},
                                delete=True))
        queued = self.commits.enqueue(writes).done
        stored: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def landed(result: asyncio.Future[list[WriteResult]]) -> None:
            done.set_result(None)  # readers stop waiting, whatever happened
            if result.cancelled():
                stored.cancel()
            elif result.exception() is not None:
                stored.set_exception(result.exception())  # type: ignore[arg-type]
            elif isinstance(result.result()[0], Exception):
                stored.set_exception(result.result()[0])  # type: ignore[arg-type]
            else:
                stored.set_result(None)

        queued.add_done_callback(landed)
        return stored
