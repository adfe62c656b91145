"""The alarm service: the provider behind the ``/whisk.system/alarms`` feeds.

OpenWhisk's alarms package is a feed action plus a provider service that keeps each
registered schedule and fires its trigger (apache/openwhisk:docs/feeds.md, "Implementing
Feeds via Connections"). Here the provider runs in the controller: the feed actions register
schedules through ``/api/v1/namespaces/{ns}/alarms/{trigger}`` (``api/alarms.py``), this
service keeps them in the store (``alarms`` collection, ``schema/alarm.py``) and fires each
trigger at its times through ``Dispatcher.fire``, as its owner.

Why the next firing is claimed in the store before it fires: the schedule must survive a
restart (it is read back at start and fires again from then on; occurrences missed while the
controller was down are skipped, a ``once`` alarm whose date passed fires at start), and
several controllers on one store must fire each occurrence once: the one whose write of the
following ``next`` wins fires, the others see a conflict and re-read. In a cluster every
controller keeps a timer for every active alarm, those registered, paused or resumed through
another followed through the store's changes feed (:meth:`AlarmService.changed`), so that a
controller that dies leaves its alarms firing from the others.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from ..exceptions import NotFound, TooManyRequests
from ..schema import alarm as schema
from ..schema import stored
from ..stores import Conflict, Doc, Store, StoreUnavailable, update
from ..stores import NotFound as StoreNotFound
from ..stores.interface import get_or_none
from .dispatcher import Dispatcher

log = logging.getLogger(__name__)

COLL = schema.COLLECTION
TRIGGERS = "triggers"
RETRY_S = 1.0


def now_ms() -> int:
    return int(time.time() * 1000)


class AlarmService:
    """Schedules every active alarm of the store as one task, and changes them."""

    def __init__(self, store: Store, dispatcher: Dispatcher,
                 charge: Callable[[str], None] = lambda ns: None) -> None:
        """``charge(ns)`` counts a firing against the namespace's fires per minute (raising
        ``TooManyRequests`` over it: that firing is skipped and logged, the schedule goes on),
        as upstream's provider fires through the API, throttled like any caller."""
        self.store = store
        self.dispatcher = dispatcher
        self.charge = charge
        self._timers: dict[str, asyncio.Task[None]] = {}

    async def start(self) -> None:
        """Schedule what the store holds (after a restart: every registered alarm)."""
        for doc in await self.store.list(COLL):
            self._schedule(doc)

    async def close(self) -> None:
        timers = list(self._timers.values())
        for timer in timers:
            timer.cancel()
        await asyncio.gather(*timers, return_exceptions=True)
        self._timers.clear()

    # -- what the feed actions ask for ------------------------------------------------------

    async def register(self, ns: str, trigger: str, kind: str, body: Any, *, subject: str,
                       replace: bool) -> Doc:
        """CREATE (or, with ``replace``, UPDATE) the alarm of ``ns/trigger``."""
        if await get_or_none(self.store, TRIGGERS, stored.path(ns, trigger)) is None:
            raise NotFound(f"trigger /{ns}/{trigger} does not exist")
        previous = await get_or_none(self.store, COLL, stored.path(ns, trigger))
        if replace and previous is None:
            raise NotFound()
        doc = schema.build(ns, trigger, kind, body, subject=subject, now_ms=now_ms(),
                           previous=previous if replace else None)
        if previous is not None:  # CREATE again: the new registration replaces the old one
            doc["_rev"] = previous["_rev"]
        doc["_rev"] = await self.store.put(COLL, doc)
        self._schedule(doc)
        return doc

    async def get(self, ns: str, trigger: str) -> Doc:
        doc = await get_or_none(self.store, COLL, stored.path(ns, trigger))
        if doc is None:
            raise NotFound()
        return doc

    async def set_status(self, ns: str, trigger: str, status: str) -> Doc:
        """PAUSE (``paused``) or UNPAUSE (``active``): a paused alarm keeps its schedule and
        does not fire; unpaused, it fires from its next time after now."""
        def change(doc: Doc) -> Doc:
            doc["status"] = status
            doc["updated"] = now_ms()
            if status == "active":
                doc["next"] = schema.next_firing(doc, now_ms())
            return doc
        try:
            doc = await update(self.store, COLL, stored.path(ns, trigger), change)
        except StoreNotFound:
            raise NotFound() from None
        self._schedule(doc)
        return doc

    async def delete(self, ns: str, trigger: str) -> Doc | None:
        """DELETE: the alarm stops (None when there was none: DELETE is idempotent, as a
        client and the controller may both send it for one trigger)."""
        id = stored.path(ns, trigger)
        self._cancel(id)
        doc = await get_or_none(self.store, COLL, id)
        if doc is not None:
            try:
                await self.store.delete(COLL, id, doc["_rev"])
            except (StoreNotFound, Conflict):
                return await self.delete(ns, trigger)
        return doc

    def changed(self, doc: Doc) -> None:
        """An alarm written or deleted by any controller (the changes feed, ``cluster/``):
        one active here without a timer gets one; one deleted or paused loses it. An alarm
        this controller schedules already goes on as it is (a claim by another controller is
        such a write: the timer re-reads when it wakes)."""
        id = str(doc["_id"])
        if doc.get("_deleted") or doc.get("status") != "active":
            self._cancel(id)
        elif "trigger" in doc:  # not an index's design document
            timer = self._timers.get(id)
            if timer is None or timer.done():
                self._schedule(doc)

    # -- firing -------------------------------------------------------------------------------

    def _schedule(self, doc: Doc) -> None:
        self._cancel(doc["_id"])
        if doc["status"] == "active" and doc.get("next") is not None:
            self._timers[doc["_id"]] = asyncio.get_running_loop().create_task(
                self._run(doc["_id"]))

    def _cancel(self, id: str) -> None:
        timer = self._timers.pop(id, None)
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()

    async def _run(self, id: str) -> None:
        """Sleep until the alarm's next time, claim it, fire; until it ends or changes. A
        store that is not available now is tried again a little later (the alarm is late,
        never lost)."""
        while True:
            try:
                doc = await get_or_none(self.store, COLL, id)
                if doc is None or doc["status"] != "active" or doc.get("next") is None:
                    return
                await asyncio.sleep(max(0.0, (doc["next"] - now_ms()) / 1000))
                claimed = await self._claim(doc)
            except StoreUnavailable as exc:
                log.warning("alarm %s waits for the store: %s", id, exc)
                await asyncio.sleep(RETRY_S)
                continue
            if claimed is None:
                continue  # changed meanwhile (or another controller fired it): re-read
            try:
                await self._fire(claimed, doc["next"])
            except Exception:
                log.exception("alarm %s could not fire its trigger", id)

    async def _claim(self, doc: Doc) -> Doc | None:
        """Write the following ``next`` with the revision read; None if that write lost."""
        claimed = dict(doc, next=schema.next_firing(doc, max(now_ms(), doc["next"])),
                       fired=doc.get("fired", 0) + 1, last=doc["next"])
        try:
            claimed["_rev"] = await self.store.put(COLL, claimed)
        except (Conflict, StoreNotFound):
            return None
        return claimed

    async def _fire(self, doc: Doc, scheduled_ms: int) -> None:
        ns, name = doc["namespace"], doc["trigger"]
        trigger = await get_or_none(self.store, TRIGGERS, stored.path(ns, name))
        if trigger is None:  # the trigger is gone: so is its alarm (upstream disables it)
            await self.delete(ns, name)
            return
        try:
            self.charge(ns)
        except TooManyRequests as exc:  # this firing is skipped; the schedule goes on
            log.warning("alarm %s of %s skipped: %s", name, ns, exc)
        else:
            await self.dispatcher.fire(ns, trigger, schema.trigger_payload(doc),
                                       subject=doc["subject"])
        if doc["next"] is None:
            await self._finish(doc, trigger)

    async def _finish(self, doc: Doc, trigger: Doc) -> None:
        """A schedule that will not fire again: remove it, and for a ``once`` alarm what
        ``deleteAfterFire`` asks (its trigger's rules, or those and the trigger)."""
        await self.delete(doc["namespace"], doc["trigger"])
        after = doc["config"].get("deleteAfterFire", False)
        if not after:
            return
        for rule_id in list(trigger.get("rules") or {}):
            rule = await get_or_none(self.store, "rules", rule_id)
            if rule is not None:
                await self.store.delete("rules", rule_id, rule["_rev"])
        if after is True:
            await _delete_quietly(self.store, TRIGGERS, trigger["_id"])
        else:
            await update(self.store, TRIGGERS, trigger["_id"], lambda t: {**t, "rules": {}})


async def _delete_quietly(store: Store, coll: str, id: str) -> None:
    doc = await get_or_none(store, coll, id)
    if doc is not None:
        try:
            await store.delete(coll, id, doc["_rev"])
        except (StoreNotFound, Conflict):
            pass
