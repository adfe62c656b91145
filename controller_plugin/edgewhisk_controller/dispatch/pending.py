"""Pending work: activations no invoker can take *yet*, waiting for the moment one can.

Why: an action with ``@policy.wait("6h")`` says it may wait to be placed (a retrain that needs
the user's phone charging and on its home network). When placement answers ``Unschedulable``
for it, the dispatcher does not fail it: the activation stays accepted (its ``accepted``
document, ``journal.py``, marked ``pending`` with why it waits and until when: the one store
of activations, so pending work survives a restart like any accepted work) and waits here
until a change of the cluster makes it placeable, or its wait expires (then it is recorded as
a whisk error naming the unmet constraints, e.g. ``failing context(charging)``).

Event-driven, indexed by what each activation waits for: placement's ``Unschedulable`` counts
every invoker under the *first* hard constraint that excludes it, so an invoker can only
become feasible through a change of a field that constraint reads (``WAITS_ON``). Each
pending activation is filed under the fields its excluding plugins read; the engine tells
``changed(invoker, fields)`` after every registration, heartbeat and completion, and only the
activations filed under one of those fields are placed again (once per loop turn, however
many events arrived). A heartbeat that changes nothing they wait for costs one dictionary
look-up per field it carries, nothing per pending activation; a registration re-tries them
all (a new invoker may satisfy anything). A re-try that fails files the activation again under
what excludes invokers now.

A placement found here charges the invoker at once (``engine.placed``), before the waiting
task resumes: the next pending activation placed in the same turn sees the memory taken.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..placement import constraints as c
from ..placement.interface import Decision, PlacementEngine, Unschedulable
from .exceptions import PendingCancelled, PendingExpired

WAITS_ON: Mapping[str, frozenset[str]] = {
    c.HEALTH: frozenset({"healthy"}),
    c.NAMESPACE_ACCESS: frozenset({"namespaces"}),
    c.RESOURCES_FIT: frozenset({"free_memory_mb", "memory_mb"}),
    c.RUNTIME_KIND: frozenset({"kinds"}),
    c.NODE_SELECTOR: frozenset({"labels", "owner", "role"}),
    c.CAPABILITY: frozenset({"capabilities"}),
    c.NETWORK_MEMBERSHIP: frozenset({"networks"}),
    c.ARTIFACT_LOCALITY: frozenset({"cached"}),
    c.DEADLINE_FEASIBILITY: frozenset({"free_memory_mb", "in_flight", "backlog_ms", "cached",
                                       "bandwidth_mbps", "cpus"}),
    c.BATTERY_LEVEL: frozenset({"battery"}),
    # not "battery": it decides charging only for an invoker without one (mains powered),
    # which a registration says, never a report; the frequent level reports re-try nothing
    c.DEVICE_STATE: frozenset({"charging", "idle", "metered"}),
}
"""Plugin -> the ``InvokerState`` fields its filter reads: what can make it pass. A plugin not
listed is re-tried on any change (``ANY``)."""
ANY = "*"


def waits_on(plugins: Iterable[str]) -> frozenset[str]:
    """The fields a change of which may unblock an activation excluded by ``plugins``."""
    found: set[str] = set()
    for plugin in plugins:
        found |= WAITS_ON.get(plugin, frozenset({ANY}))
    return frozenset(found) or frozenset({ANY})


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Waiting:
    """One pending activation: how to place it again, why it waits, until when."""

    activation_id: str
    namespace: str
    name: str  # the action's path, as its record names it
    since_ms: int
    until_ms: int
    place: Callable[[], Decision]
    memory_mb: int
    action_key: str
    last: Unschedulable
    future: asyncio.Future[str]
    fields: frozenset[str] = field(default_factory=frozenset)
    timer: asyncio.TimerHandle | None = None

    def describe(self) -> dict[str, Any]:
        """What the API shows of it (and the accepted document keeps as ``pending``)."""
        return {"activationId": self.activation_id, "namespace": self.namespace,
                "name": self.name, "since": self.since_ms, "until": self.until_ms,
                "waiting_for": sorted(self.last.excluded), "reason": self.last.reason}


class PendingWork:
    """Every pending activation of one controller, indexed by the fields they wait on."""

    def __init__(self, engine: PlacementEngine) -> None:
        self.engine = engine
        self.items: dict[str, Waiting] = {}
        self._index: dict[str, set[str]] = {}
        self._due: set[str] = set()
        self._scheduled = False
        self.retries = 0  # placements tried again (the fleet benchmark and the tests read it)
        engine.listen(self.changed)

    # -- the dispatcher's side -----------------------------------------------------------------

    async def wait(self, item: Waiting) -> str:
        """Until ``item`` is placed: the invoker id, already charged with its memory.
        ``PendingExpired`` when its wait ends first, ``PendingCancelled`` when cancelled."""
        loop = asyncio.get_running_loop()
        self.items[item.activation_id] = item
        self._file(item)
        delay = max(0.0, (item.until_ms - now_ms()) / 1000)
        item.timer = loop.call_later(delay, self._expire, item.activation_id)
        self._due.add(item.activation_id)  # it may have become placeable meanwhile
        self._schedule()
        try:
            return await item.future
        finally:
            self._drop(item.activation_id)

    def cancel(self, activation_id: str) -> bool:
        """Cancel a pending activation (its waiter raises ``PendingCancelled``); whether it
        was pending."""
        item = self.items.get(activation_id)
        if item is None or item.future.done():
            return False
        item.future.set_exception(PendingCancelled(item.describe()))
        return True

    def describe(self, activation_id: str) -> dict[str, Any] | None:
        item = self.items.get(activation_id)
        return None if item is None else item.describe()

    def listing(self, namespace: str) -> list[dict[str, Any]]:
        """The namespace's pending activations, oldest first."""
        return [item.describe() for item in sorted(self.items.values(),
                                                   key=lambda i: i.since_ms)
                if item.namespace == namespace]

    def summary(self, namespace: str) -> dict[str, Any]:
        """How many of the namespace's activations wait, per unmet constraint."""
        waiting: dict[str, int] = {}
        count = 0
        for item in self.items.values():
            if item.namespace == namespace:
                count += 1
                for phrase in item.last.excluded:
                    waiting[phrase] = waiting.get(phrase, 0) + 1
        return {"count": count, "waiting_for": dict(sorted(waiting.items()))}

    def filed(self) -> int:
        """Entries of the index (an activation counts once per field it waits on)."""
        return sum(len(ids) for ids in self._index.values())

    # -- the engine's side ---------------------------------------------------------------------

    def changed(self, invoker_id: str, fields: frozenset[str]) -> None:
        """The engine applied a change of ``fields`` on ``invoker_id`` (a ``Listener``)."""
        if not self.items:
            return
        index, due = self._index, self._due
        before = len(due)
        if ANY in fields:  # a registration
            due.update(self.items)
        else:
            for name in (*fields, ANY):
                ids = index.get(name)
                if ids:
                    due.update(ids)
        if len(due) != before:
            self._schedule()

    def _schedule(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._retry)

    def _retry(self) -> None:
        """Place again every activation an event may have unblocked (once per loop turn)."""
        self._scheduled = False
        due, self._due = self._due, set()
        for activation_id in sorted(due, key=lambda i: self._since(i)):
            item = self.items.get(activation_id)
            if item is None or item.future.done():
                continue
            self.retries += 1
            decision = item.place()
            if isinstance(decision, Unschedulable):
                self._unfile(item)
                item.last = decision
                self._file(item)
                continue
            self.engine.placed(decision, item.memory_mb, item.action_key)
            item.future.set_result(decision)

    def _since(self, activation_id: str) -> int:
        item = self.items.get(activation_id)
        return 0 if item is None else item.since_ms

    def _expire(self, activation_id: str) -> None:
        item = self.items.get(activation_id)
        if item is not None and not item.future.done():
            item.future.set_exception(PendingExpired(item.describe()))

    # -- the index -----------------------------------------------------------------------------

    def _file(self, item: Waiting) -> None:
        item.fields = waits_on(item.last.plugins)
        for name in item.fields:
            self._index.setdefault(name, set()).add(item.activation_id)

    def _unfile(self, item: Waiting) -> None:
        for name in item.fields:
            ids = self._index.get(name)
            if ids is not None:
                ids.discard(item.activation_id)
                if not ids:
                    del self._index[name]
        item.fields = frozenset()

    def _drop(self, activation_id: str) -> None:
        item = self.items.pop(activation_id, None)
        if item is None:
            return
        self._unfile(item)
        if item.timer is not None:
            item.timer.cancel()
