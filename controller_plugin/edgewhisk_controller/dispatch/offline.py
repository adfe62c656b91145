"""Devices that work cut off: which actions a device keeps, and the records it made offline.

Why here, in the activation flow: an offline run is an activation like any other, only run
before the controller heard of it, so its record is built by the same rules
(``schema.activation``: ``response_of``, ``run_annotations``) plus two annotations the issue
asks for, ``offline: true`` and the ``invoker`` that ran it (its device id). The tunnel
(``tunnel/hub.py``) calls the two methods below through its ``OfflineHandler`` contract, so it
never reads the entity store itself.

- :meth:`OfflineService.actions_for`: on every ``register``, the actions of the device's
  namespace whose ``policy.offline`` allows this device (``edgewhisk.offline.may_cache``, the
  one rule; the agent checks it again before a run), each as its pool spec, annotation and
  default parameters. The device drops every copy not listed.
- :meth:`OfflineService.accept`: a device-made record is stored under its activation id with
  ``put`` without a revision, so a record delivered twice (a lost ``offline.synced``, a
  reconnect) is refused by the store as a conflict and counted once: exactly once. A record of
  another namespace's action is foreign (the connection is closed, nothing stored: an honest
  agent never holds such a copy). A record of an action that does not exist or does not allow
  this device offline (now) is refused and not stored, but confirmed all the same, so that the
  device forgets it instead of sending it on every reconnect; the refusal is logged.
"""

from __future__ import annotations

import logging
from typing import Any

from edgewhisk.offline import may_cache, offline_policy
from edgewhisk_runtime.containers.interface import RunOutcome
from edgewhisk_tunnel import CloseCode, OfflineAction, OfflineRecord, ProtocolError, Register

from ..preprocess.compiler import annotation_of
from ..schema import activation as act
from ..schema import stored
from ..schema.exceptions import CorruptedAction
from ..stores import Conflict, Store
from ..stores.interface import get_or_none
from ..tunnel.twins import run_outcome, run_spec
from .spec import spec_of

log = logging.getLogger(__name__)

STORED = "stored"
DUPLICATE = "duplicate"



class OfflineService:
    def __init__(self, store: Store, *, api_host: str) -> None:
        self.store = store
        self.api_host = api_host

    async def actions_for(self, namespace: str, register: Register) -> list[OfflineAction]:
        """Every action of ``namespace`` this device may keep, newest stored revision each."""
        out = []
        for doc in await self.store.list(stored.ACTIONS, prefix=f"{namespace}/"):
            allowed = _allowed(doc, register.id, register.capabilities)
            if allowed is None or stored.is_sequence(doc) or stored.is_conductor(doc):
                continue
            out.append(OfflineAction(
                name=stored.action_path(namespace, doc), version=str(doc.get("version", "0.0.1")),
                spec=run_spec(spec_of(namespace, doc, api_host=self.api_host)),
                annotation=allowed, parameters=stored.parameters(doc)))
        return out

    async def accept(self, namespace: str, register: Register, record: OfflineRecord) -> str:
        """Store the device-made ``record`` once: ``stored``, ``duplicate`` (stored before) or
        why it was refused."""
        if not record.name.startswith(f"{namespace}/"):
            raise ProtocolError(f"offline record {record.activation_id} of {record.name!r}: "
                                f"not an action of namespace {namespace!r}",
                                CloseCode.POLICY_VIOLATION)
        action = await get_or_none(self.store, stored.ACTIONS, record.name)
        if action is None or _allowed(action, register.id, register.capabilities) is None:
            return (f"refused: {record.name} does not allow invoker {register.id} to run it "
                    f"offline")
        rec = device_record(namespace, action, record, register.id)
        try:
            await self.store.put(act.COLLECTION, act.to_doc(rec))
        except Conflict:
            return DUPLICATE
        return STORED


def _allowed(doc: Any, device: str, capabilities: Any) -> dict[str, Any] | None:
    """The action's annotation when its offline policy allows ``device``, else None."""
    try:
        annotation = annotation_of(doc)
    except Exception:  # an unreadable annotation never allows anything
        return None
    return annotation if may_cache(offline_policy(annotation), device, capabilities) else None


def device_record(namespace: str, action: dict[str, Any], record: OfflineRecord,
                  invoker_id: str) -> act.ActivationRecord:
    """The OpenWhisk record of a run the device made offline (its own clock's times)."""
    outcome: RunOutcome = run_outcome(record.outcome)
    try:
        kind = str(stored.exec_of(action)["kind"])
    except CorruptedAction:
        kind = "unknown"
    return act.offline_record(
        namespace=namespace, path=record.name, version=record.version,
        activation_id=record.activation_id, start=record.start_ms, end=record.end_ms,
        outcome=outcome, init_ms=outcome.init_ms, logs=outcome.logs, kind=kind,
        limits=stored.limits(action), invoker=invoker_id)
