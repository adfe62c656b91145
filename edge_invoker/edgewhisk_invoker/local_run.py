"""Running an action on the device while it is cut off from the controller.

Why every check happens before anything runs: a device that cannot honour an action's rules
must refuse (or defer) it, never run it half-way. In order, :meth:`LocalRunner.prepare`:

1. the device holds a copy of the action (synced because its ``policy.offline`` names this
   device), and that policy still allows this device (``edgewhisk.offline.may_cache``, the
   rule the controller applied when it sent the copy);
2. the action chooses no model by selector (only the registry can resolve a selector);
3. every consumed artifact (its ref bound from the parameters) is in the node store: the newest
   version held;
4. every produced artifact gets its name (the ref bound from the parameters) and its locality
   (the declared one, else the widest its inputs allow), and none is wider than its inputs
   (``edgewhisk_runtime.artifacts.locality``, the ordering the controller's planner uses; a
   403 otherwise). Its version is not known here: the registry allocates versions, and a
   device cut off cannot ask. So the run keeps it in the node store under a provisional key
   (``edgewhisk_tunnel.provisional_key``: ``ns/name@offline-ACTIVATION``, never a number,
   so nothing mistakes it for a registry version) and the record lists it; the controller
   allocates the version when the record syncs (``dispatch/offline.py``) and answers the key,
   under which the device then keeps it (and uploads a ``cloud`` one: ``offline_work.py``).
   Its version number is therefore the order in which the controller learns of it, not the
   order it was made in (the record's times say when): the registry's numbers stay
   monotonic and the registry's alone — no per-device ranges, no second numbering — and
   ``created_by`` names the device-made activation;
5. the action's network rules: a strict ``policy.data(network=[...])`` or a consumed
   ``network:NAME`` artifact on a network the device is not on makes the activation *wait*
   (:attr:`Prepared.waits_for`), durably, until the device joins it (``offline_work.py``).

A refusal is an ``Unavailable`` (503) whose message names what is missing. A run's record is
built by ``edgewhisk_runtime.records.offline_record``, the rule the controller applies when
the device syncs it, and is kept in the durable state before the caller gets its answer.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from edgewhisk import AnnotationError, bind
from edgewhisk.offline import may_cache, offline_policy
from edgewhisk_runtime.artifacts import ProducedArtifact
from edgewhisk_runtime.artifacts import locality as ordering
from edgewhisk_runtime.artifacts.store import Entry
from edgewhisk_runtime.containers import ContainerError, ContainerPool
from edgewhisk_runtime.records import ActivationRecord, offline_record
from edgewhisk_tunnel import Consumed, OfflineAction, OfflineRecord, Produce, Run, provisional_key

from .artifacts import DeviceArtifacts, StagingError
from .config import AgentConfig
from .exceptions import BadRequest, Forbidden, Unavailable
from .frames import action_spec, outcome_of
from .offline_state import OfflineState, new_activation_id

RECORD_LOG_LINES = 1000
"""Log lines an offline record keeps (the last ones): a record must fit one tunnel frame."""


@dataclass(frozen=True)
class Output:
    """One artifact the run will produce: ``name`` keys it in the result, ``artifact`` is its
    registry name (the bound ref)."""

    name: str
    kind: str
    artifact: str
    locality: str


@dataclass(frozen=True)
class Prepared:
    """An activation the device may run: its copy, merged parameters, staged inputs, what it
    will produce, and the network it must wait for first (None: run now)."""

    copy: OfflineAction
    params: dict[str, Any]
    consumes: tuple[Consumed, ...]
    waits_for: str | None
    outputs: tuple[Output, ...] = ()
    confined: tuple[tuple[str, ...], ...] = ()  # each strict policy.data's networks

    def produces(self, activation_id: str) -> tuple[Produce, ...]:
        """The run's produces, each under its provisional key."""
        ns = self.copy.name.split("/", 1)[0]
        return tuple(Produce(name=o.name, kind=o.kind, locality=o.locality,
                             ref=provisional_key(ns, o.artifact, activation_id))
                     for o in self.outputs)


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
        merged = {**copy.parameters, **params}
        consumes = tuple(self._consumed(name, entry, merged)
                         for entry in annotation.get("consumes", []))
        outputs = tuple(_output(name, entry, merged, consumes)
                        for entry in annotation.get("produces", []))
        confined = _confined(annotation, merged)
        return Prepared(copy, merged, consumes, _waits_for(confined, consumes, set(networks)),
                        outputs, confined)

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
        run = Run(aid, copy.spec, prepared.params, fields, consumes=prepared.consumes,
                  produces=prepared.produces(aid))
        start = _now_ms()
        try:
            outcome = await self.artifacts.around(
                run, lambda f: self.pool.run(spec, prepared.params, f), upload=False)
        except (ContainerError, StagingError) as exc:
            raise Unavailable(f"invoker {self.config.id} could not run {copy.name}: {exc}"
                              ) from None
        end = max(start, _now_ms())
        logs = list(outcome.logs)[-RECORD_LOG_LINES:]
        outcome = replace(outcome, response=provisional(outcome.response, outcome.produced))
        message = OfflineRecord(aid, copy.name, copy.version, start, end,
                                outcome_of(outcome, logs),
                                consumed={c.name: c.key for c in prepared.consumes})
        for produced in outcome.produced:  # uploaded once registered, on the right network
            if produced.locality == ordering.CLOUD:
                self.state.add_upload(produced.ref, prepared.confined)
        self.state.add_record(message)
        limits = {"concurrency": spec.concurrency, "logs": spec.logs_mb,
                  "memory": spec.memory_mb, "timeout": spec.timeout_ms}
        return offline_record(namespace=ns, path=copy.name, version=copy.version,
                              activation_id=aid, start=start, end=end, outcome=outcome,
                              init_ms=outcome.init_ms, logs=logs, kind=spec.kind,
                              limits=limits, invoker=self.config.id)


def _output(name: str, entry: Mapping[str, Any], params: Mapping[str, Any],
            consumes: Iterable[Consumed]) -> Output:
    """A produced artifact's bound name and locality, refused (before anything runs) when
    its declared locality is wider than its inputs allow."""
    allowed = ordering.widest(c.locality for c in consumes)
    try:
        artifact = bind(entry["ref"], params)
        declared = entry.get("locality")
        locality = bind(declared, params) if declared else allowed
    except AnnotationError as exc:
        raise BadRequest(f"{exc.path}: {exc.reason}") from None
    if ordering.wider(locality, allowed):
        raise Forbidden(f"{name} may not produce {artifact} as {locality}: an output may not "
                        f"be wider than its inputs (at most {allowed})")
    return Output(entry["name"], entry["kind"], artifact, locality)


def provisional(body: Any, produced: Iterable[ProducedArtifact]) -> Any:
    """The result with each produced artifact's value made a reference to the copy this
    device keeps (``version`` None: the registry allocates it when the record syncs; the
    synced record's reference is the registry's)."""
    kept = {p.name: p for p in produced}
    if not kept or not isinstance(body, dict):
        return body
    return {**body, **{name: {"artifact": {
        "kind": p.kind, "name": p.ref.partition("/")[2].rpartition("@")[0], "version": None,
        "key": p.ref, "format": p.format, "size": p.size, "sha256": p.sha256,
        "locality": p.locality}} for name, p in kept.items() if name in body}}


def _confined(annotation: Mapping[str, Any], params: Mapping[str, Any]
              ) -> tuple[tuple[str, ...], ...]:
    """The bound networks of each strict ``policy.data``: the activation runs, and the data
    it makes moves, only while the device is on one network of each."""
    groups = []
    for policy in annotation.get("policies", []):
        if policy.get("type") == "data" and policy.get("strict"):
            wanted = policy["network"]
            groups.append(tuple(bind(n, params)
                                for n in ([wanted] if isinstance(wanted, str) else wanted)))
    return tuple(groups)


def outside(confined: Iterable[Iterable[str]], networks: set[str]) -> str | None:
    """The first network of a group the device is on none of (None: it may go ahead)."""
    for group in confined:
        names = list(group)
        if names and not networks & set(names):
            return names[0]
    return None


def _waits_for(confined: tuple[tuple[str, ...], ...], consumes: Iterable[Consumed],
               networks: set[str]) -> str | None:
    """The first network the activation may not run without, that the device is not on."""
    network = outside(confined, networks)
    if network is not None:
        return network
    for consumed in consumes:
        network = ordering.network_of(consumed.locality)
        if network is not None and network not in networks:
            return network
    return None
