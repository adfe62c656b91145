"""Running an action on the device while it is cut off from the controller.

Why every check happens before anything runs: a device that cannot honour an action's rules
must refuse (or defer) it, never run it half-way. In order, :meth:`LocalRunner.prepare`:

1. the device holds a copy of the action (synced because its ``policy.offline`` names this
   device), and that policy still allows this device (``edgewhisk.offline.may_cache``, the
   rule the controller applied when it sent the copy);
2. the action produces no artifacts (their versions are allocated by the controller's
   registry; an offline run cannot allocate one) and chooses no model by selector (only the
   registry can resolve a selector);
3. every consumed artifact (its ref bound from the parameters) is in the node store: the newest
   version held;
4. the action's network rules: a strict ``policy.data(network=[...])`` or a consumed
   ``network:NAME`` artifact on a network the device is not on makes the activation *wait*
   (:attr:`Prepared.waits_for`), durably, until the device joins it (``offline_work.py``).

A refusal is an ``Unavailable`` (503) whose message names what is missing. A run's record is
built by ``edgewhisk_runtime.records.offline_record``, the rule the controller applies when
the device syncs it, and is kept in the durable state before the caller gets its answer.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from edgewhisk import AnnotationError, bind
from edgewhisk.offline import may_cache, offline_policy
from edgewhisk_runtime.artifacts.store import Entry
from edgewhisk_runtime.containers import ContainerError, ContainerPool
from edgewhisk_runtime.records import ActivationRecord, offline_record
from edgewhisk_tunnel import Consumed, OfflineAction, OfflineRecord, Run

from .artifacts import DeviceArtifacts, StagingError
from .config import AgentConfig
from .exceptions import BadRequest, Unavailable
from .frames import action_spec, outcome_of
from .offline_state import OfflineState, new_activation_id

NETWORK_PREFIX = "network:"
RECORD_LOG_LINES = 1000
"""Log lines an offline record keeps (the last ones): a record must fit one tunnel frame."""


@dataclass(frozen=True)
class Prepared:
    """An activation the device may run: its copy, merged parameters, staged inputs, and the
    network it must wait for first (None: run now)."""

    copy: OfflineAction
    params: dict[str, Any]
    consumes: tuple[Consumed, ...]
    waits_for: str | None


def _now_ms() -> int:
    return int(time.time() * 1000)


class LocalRunner:
    def __init__(self, config: AgentConfig, state: OfflineState, artifacts: DeviceArtifacts,
                 pool: ContainerPool) -> None:
        self.config = config
        self.state = state
        self.artifacts = artifacts
        self.pool = pool

    def prepare(self, name: str, params: Mapping[str, Any],
                networks: Iterable[str]) -> Prepared:
        copy = self.state.action(name)
        if copy is None:
            raise Unavailable(
                f"The controller is unreachable and invoker {self.config.id} holds no copy of "
                f"{name}: only actions annotated @policy.offline(...) that allow this device "
                f"run here while it is cut off.")
        if not may_cache(offline_policy(copy.annotation), self.config.id,
                         self.config.capabilities):
            raise Unavailable(f"The controller is unreachable and {name}'s offline policy does "
                              f"not allow invoker {self.config.id}.")
        annotation = copy.annotation
        if annotation.get("produces"):
            raise Unavailable(f"The controller is unreachable and {name} produces artifacts, "
                              f"whose versions only the controller's registry allocates.")
        merged = {**copy.parameters, **params}
        consumes = tuple(self._consumed(name, entry, merged)
                         for entry in annotation.get("consumes", []))
        return Prepared(copy, merged, consumes, _waits_for(annotation, consumes, merged,
                                                           set(networks)))

    def _consumed(self, name: str, entry: Mapping[str, Any],
                  params: Mapping[str, Any]) -> Consumed:
        if "ref" not in entry:
            raise Unavailable(f"The controller is unreachable and {name} chooses its model "
                              f"{entry.get('name')!r} by selector, which only the controller's "
                              f"registry resolves.")
        try:
            ref = bind(entry["ref"], params)
        except AnnotationError as exc:
            raise BadRequest(f"{exc.path}: {exc.reason}") from None
        held = self._newest(f"{name.split('/', 1)[0]}/{ref}")
        if held is None:
            raise Unavailable(f"The controller is unreachable and artifact {ref}, which {name} "
                              f"consumes, is not on invoker {self.config.id}.")
        return Consumed(name=entry["name"], kind=held.kind, key=held.key, sha256=held.sha256,
                        size=held.size, format=held.format, locality=held.locality)

    def _newest(self, prefix: str) -> Entry | None:
        store = self.artifacts.store
        if store is None:
            return None
        versions = []
        for entry in store.entries():
            base, _, version = entry.key.rpartition("@")
            if base == prefix and version.isdigit():
                versions.append((int(version), entry))
        return max(versions, key=lambda pair: pair[0])[1] if versions else None

    async def run(self, prepared: Prepared, activation_id: str | None = None
                  ) -> ActivationRecord:
        """Run it now; the record is in the durable state (to sync) before this returns."""
        copy, aid = prepared.copy, activation_id or new_activation_id()
        ns = copy.name.split("/", 1)[0]
        fields = {"namespace": ns, "action_name": f"/{copy.name}",
                  "action_version": copy.version, "activation_id": aid,
                  "transaction_id": new_activation_id()}
        spec = action_spec(copy.spec)
        run = Run(aid, copy.spec, prepared.params, fields, consumes=prepared.consumes)
        start = _now_ms()
        try:
            outcome = await self.artifacts.around(
                run, lambda f: self.pool.run(spec, prepared.params, f))
        except (ContainerError, StagingError) as exc:
            raise Unavailable(f"invoker {self.config.id} could not run {copy.name}: {exc}"
                              ) from None
        end = max(start, _now_ms())
        logs = list(outcome.logs)[-RECORD_LOG_LINES:]
        message = OfflineRecord(aid, copy.name, copy.version, start, end,
                                outcome_of(outcome, logs))
        self.state.add_record(message)
        limits = {"concurrency": spec.concurrency, "logs": spec.logs_mb,
                  "memory": spec.memory_mb, "timeout": spec.timeout_ms}
        return offline_record(namespace=ns, path=copy.name, version=copy.version,
                              activation_id=aid, start=start, end=end, outcome=outcome,
                              init_ms=outcome.init_ms, logs=logs, kind=spec.kind,
                              limits=limits, invoker=self.config.id)


def _waits_for(annotation: Mapping[str, Any], consumes: Iterable[Consumed],
               params: Mapping[str, Any], networks: set[str]) -> str | None:
    """The first network the activation may not run without, that the device is not on."""
    for policy in annotation.get("policies", []):
        if policy.get("type") == "data" and policy.get("strict"):
            wanted = policy["network"]
            names = [bind(n, params) for n in ([wanted] if isinstance(wanted, str) else wanted)]
            if not networks & set(names):
                return names[0]
    for consumed in consumes:
        if consumed.locality.startswith(NETWORK_PREFIX):
            network = consumed.locality[len(NETWORK_PREFIX):]
            if network not in networks:
                return network
    return None
