"""Data-growth triggers: ``@gate.data("{usr}/glucose", new_items=">=100")`` fires
``<action>.data`` once a user's data has grown enough since the last firing.

Why in the controller: every new version of a data artifact is registered here (produced by a
run on any invoker, uploaded, or registered by a device), so the registry tells this module of
each one (``ArtifactRegistry.listen``). For each action of the namespace with a data gate whose
ref matches the version's name (``{usr}/glucose`` matches ``u1/glucose`` under ``usr=u1``), a
counter per (action, gate, binding) in ``gate_states`` grows by the version's ``items`` (what
its metadata reports, ``Output(metadata={"items": n})``; one per version otherwise). When the
gate's ``new_items`` holds, the counter restarts from 0 in the same read-modify-write (so
concurrent versions cross the threshold exactly once) and the version that crossed it fires
the trigger, through the same code as ``POST .../triggers/NAME`` (``Dispatcher.fire``): a rule
connects it to the retrain, whose ``policy.context(charging=True)`` and ``policy.wait`` make it
run when the phone is charging. The payload: the binding's variables at the top (a rule's
action binds them as any invoke does), ``artifact``, ``version``, ``binding``, ``count``.

Limits: the actions of a namespace are read once per new data version (no index yet); a
controller killed between the counter's write and the firing loses that firing.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Protocol

from edgewhisk.gates import DataGate, data_gates_of, trigger_name
from edgewhisk.terms import match_template, predicate_holds

from ..artifacts.gates import GATE_STATES, TRIGGERS
from ..background import Tasks
from ..schema import stored
from ..stores import Doc, update
from ..stores.interface import get_or_none

if TYPE_CHECKING:
    from ..artifacts import ArtifactRegistry
    from ..stores import Store


class Dispatcher(Protocol):
    """What firing needs of the dispatcher (``dispatcher.Dispatcher`` is one)."""

    store: Store
    artifacts: ArtifactRegistry | None

    async def fire(self, ns: str, trigger: Doc, params: dict[str, Any], *, subject: str,
                   api_key: str | None = None) -> str | None: ...

log = logging.getLogger(__name__)


def items_of(doc: Doc) -> int:
    """How many new items a version brings: its metadata's ``items``, else 1."""
    items = (doc.get("metadata") or {}).get("items")
    if isinstance(items, int) and not isinstance(items, bool) and items >= 0:
        return items
    return 1


class DataGrowth:
    """Counts new data versions per data gate and binding; fires the gates' triggers."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self.fired = 0
        self._tasks = Tasks("data growth")
        if dispatcher.artifacts is not None:
            dispatcher.artifacts.listen(self.added)

    def added(self, doc: Doc) -> None:
        """A new version was stored (a registry listener: counted in the background)."""
        if doc.get("kind") != "data":
            return
        self._tasks.spawn(self._grown(doc))

    async def settled(self) -> None:
        """Until every version registered so far is counted (and fired)."""
        await self._tasks.settled()

    async def _grown(self, doc: Doc) -> None:
        ns, store = doc["namespace"], self.dispatcher.store
        for action in await store.list(stored.ACTIONS, filters={"namespace": ns}):
            annotation = stored.annotation(action, "edgewhisk")
            if not isinstance(annotation, dict):
                continue
            for gate in data_gates_of(annotation):
                binding = match_template(gate.ref, doc["name"])
                if binding is not None:
                    await self._count(ns, str(action["name"]), gate, binding, doc)

    async def _count(self, ns: str, action: str, gate: DataGate, binding: dict[str, str],
                     doc: Doc) -> None:
        version = f"{doc['name']}@{doc['version']}"
        bound = ",".join(f"{k}={v}" for k, v in sorted(binding.items()))
        key = f"{ns}/{action}#{gate.index}/data?{bound}"
        items = items_of(doc)

        def grow(state: Doc) -> Doc:
            state["count"] = int(state.get("count", 0)) + items
            state.pop("firing", None)
            if predicate_holds((gate.op, gate.count), state["count"]):
                state.update(firing=version, fired_at=int(time.time() * 1000),
                             fired_count=state["count"], count=0,
                             firings=int(state.get("firings", 0)) + 1)
            return state

        state = await update(self.dispatcher.store, GATE_STATES, key, grow, default={
            "namespace": ns, "action": action, "gate": gate.index, "type": "data",
            "ref": doc["name"], "binding": binding})
        if state.get("firing") == version:
            await self._fire(ns, action, gate, binding, doc, int(state["fired_count"]))

    async def _fire(self, ns: str, action: str, gate: DataGate, binding: dict[str, str],
                    doc: Doc, count: int) -> None:
        name = trigger_name(action, gate)
        trigger = await get_or_none(self.dispatcher.store, TRIGGERS, stored.path(ns, name))
        if trigger is None:
            log.info("data gate of %s/%s reached %d items of %s: no trigger %s", ns, action,
                     count, doc["name"], name)
            return
        payload: dict[str, Any] = {**binding, "artifact": doc["name"],
                                   "version": doc["version"], "binding": binding,
                                   "count": count, "gate": "data",
                                   "action": f"/{ns}/{action}", "trigger": name}
        activation_id = await self.dispatcher.fire(ns, trigger, payload, subject=ns)
        self.fired += 1
        log.info("data gate of %s/%s fired %s (%d items of %s): %s", ns, action, name, count,
                 doc["name"], activation_id)
