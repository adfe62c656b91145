"""Artifacts a device produced while cut off: registered when its record syncs, exactly once.

Why at sync and not at the run: versions are the registry's (monotonic per name, allocated by
its counters), and a device cut off cannot ask for one. So the device kept each output under a
provisional key (``edgewhisk_tunnel.provisional_key``), and here, when its record arrives:

1. each reported output is checked against the action's annotation (an output it declares,
   of its kind, under the name its ref binds to: the device's provisional key must be the one
   of that name and this activation) and against the locality rule
   (``locality.check_produce``: never wider than the consumed versions the record names);
   an output that fails is not registered, and the refusal is logged;
2. the action's gates judge the outputs with the verdicts the device's runtime returned, as
   for any run (``artifacts/gates.py``): a firing validator gate registers its version
   ``gated``; verdicts missing for an output that needs one register nothing, and the record
   says why (as the dispatcher does for a run it placed);
3. a version is allocated and registered (``artifacts/produce.register``, the code a placed
   run's outputs go through) with ``created_by`` the device-made activation, the lineage of
   the record's consumed versions, and the device as its one copy. Before allocating, the
   registry is asked for a version this activation already made (``made_by``): a record
   delivered twice (a lost ``offline.synced``) registers nothing twice and gets the same keys.

The answer maps each provisional key to its registry key (``offline.synced``); the device
then keeps the bytes under that key and uploads a ``cloud`` one, which the controller accepts
for a version registered from a device-made record that names the device as its copy and has
no cloud copy yet (``tunnel/artifact_service.py``). Gate triggers of offline runs are not fired.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from edgewhisk import AnnotationError
from edgewhisk.gates import gates_of
from edgewhisk.terms import bound_pattern, template_variables
from edgewhisk_runtime.containers.interface import RunOutcome
from edgewhisk_tunnel import OfflineRecord, Produce, provisional_key

from ..artifacts import gates, produce
from ..artifacts import locality as rules
from ..artifacts.exceptions import (
    ArtifactNotFound,
    InvalidArtifact,
    LocalityRefused,
    StagingFailed,
)
from ..artifacts.keys import check_name, doc_id, parse_key
from ..artifacts.plan import lineage_of
from ..stores import Doc

if TYPE_CHECKING:
    from ..artifacts import ArtifactRegistry

log = logging.getLogger(__name__)


@dataclass
class Registered:
    """What a record's outputs became: registry key by provisional key, and the outcome with
    references in its result (or the error that kept the outputs from being registered)."""

    outcome: RunOutcome
    keys: dict[str, str] = field(default_factory=dict)


class OfflineArtifacts:
    def __init__(self, registry: ArtifactRegistry | None) -> None:
        self.registry = registry
        self._locks: dict[str, asyncio.Lock] = {}

    async def register(self, namespace: str, annotation: Mapping[str, Any],
                       record: OfflineRecord, outcome: RunOutcome, *, invoker: str,
                       owner: str) -> Registered:
        """Register the outputs ``outcome`` reports (once per activation)."""
        if not outcome.produced:
            return Registered(outcome)
        if self.registry is None:
            log.warning("offline record %s: outputs not registered: this controller has no "
                        "artifact registry", record.activation_id)
            return Registered(outcome)
        aid = record.activation_id
        lock = self._locks.setdefault(aid, asyncio.Lock())
        try:
            async with lock:
                return await self._register(self.registry, namespace, annotation, record,
                                            outcome, invoker=invoker, owner=owner)
        finally:
            if not lock.locked():
                self._locks.pop(aid, None)

    async def _register(self, registry: ArtifactRegistry, ns: str,
                        annotation: Mapping[str, Any], record: OfflineRecord,
                        outcome: RunOutcome, *, invoker: str, owner: str) -> Registered:
        consumed = await _consumed(registry, ns, record.consumed)
        accepted = [p for p in outcome.produced
                    if _acceptable(ns, annotation, record, p, consumed.values())]
        existing, by_name = await _versions(registry, ns, record, accepted)
        accepted = [p for p in accepted if p.name in by_name]
        planned = tuple(Produce(name=p.name, kind=p.kind, locality=p.locality,
                                ref=by_name[p.name]) for p in accepted)
        renamed = tuple(dataclasses.replace(p, ref=by_name[p.name]) for p in accepted)
        judged = gates.judge(gates_of(dict(annotation)), outcome.gates,
                             {**record.consumed, **by_name}, produced=list(by_name),
                             ran=_ran(outcome), invoker=invoker)
        error = gates.missing(judged)
        if error is not None and _ran(outcome):
            return Registered(dataclasses.replace(outcome, status=502,
                                                  response={"error": error}, produced=()))
        docs = {name: doc for name, doc in existing.items() if doc is not None}
        for fresh in (p for p in renamed if existing[p.name] is None):
            try:
                docs.update(await produce.register(
                    registry, (fresh,), planned, activation_id=record.activation_id,
                    lineage=lineage_of(list(consumed.values())), owner=owner,
                    invoker=invoker, verdicts=gates.verdicts_of(judged),
                    held=gates.held_back(judged)))
            except StagingFailed as exc:
                _refused(record, fresh, exc.message)
        keys = {p.ref: docs[p.name]["_id"] for p in accepted if p.name in docs}
        return Registered(dataclasses.replace(
            outcome, response=produce.rewrite(outcome.response, docs), produced=renamed), keys)


async def _versions(registry: ArtifactRegistry, ns: str, record: OfflineRecord,
                    accepted: list[Any]) -> tuple[dict[str, Doc | None], dict[str, str]]:
    """Each output's version: the one this activation registered before (a record sent
    again), else a new one allocated; an output the registry refuses (its name is an artifact
    of another kind) is left out, logged."""
    existing: dict[str, Doc | None] = {}
    by_name: dict[str, str] = {}  # output name -> its registry key
    for p in accepted:
        artifact = _artifact(p.ref)
        try:
            doc = await registry.made_by(ns, artifact, record.activation_id)
            by_name[p.name] = doc["_id"] if doc is not None else \
                doc_id(ns, artifact, await registry.allocate(ns, artifact, p.kind))
        except InvalidArtifact as exc:
            _refused(record, p, exc.message)
            continue
        existing[p.name] = doc
    return existing, by_name


def _refused(record: OfflineRecord, produced: Any, why: str) -> None:
    log.warning("offline record %s: output %s (%s) not registered: %s",
                record.activation_id, produced.name, produced.ref, why)


def _ran(outcome: RunOutcome) -> bool:
    body = outcome.response
    return outcome.status == 200 and not (isinstance(body, dict) and "error" in body)


def _artifact(ref: str) -> str:
    """The artifact name of a key (``ns/name@version``, provisional or not)."""
    return ref.partition("/")[2].rpartition("@")[0]


async def _consumed(registry: ArtifactRegistry, ns: str,
                    keys: Mapping[str, str]) -> dict[str, Doc]:
    """The registry documents of the versions the record says it read (by annotation name);
    one the registry no longer has is left out (its lineage entry with it)."""
    docs = {}
    for name, key in keys.items():
        try:
            key_ns, artifact, version = parse_key(key)
            if key_ns == ns:
                docs[name] = await registry.get(ns, artifact, version)
        except (InvalidArtifact, ArtifactNotFound):
            log.warning("offline record: consumed %s %r is not in the registry", name, key)
    return docs


def _acceptable(ns: str, annotation: Mapping[str, Any], record: OfflineRecord, produced: Any,
                consumed: Any) -> bool:
    """Whether ``produced`` is an output the action declares, under its provisional key,
    within the locality rule (logged when not)."""
    entry = next((e for e in annotation.get("produces", []) if e.get("name") == produced.name),
                 None)
    artifact = _artifact(produced.ref)
    why = None
    try:
        if entry is None or entry.get("kind") != produced.kind:
            why = "the action declares no such output"
        elif produced.ref != provisional_key(ns, check_name(artifact), record.activation_id):
            why = "its key is not the provisional key of this activation"
        elif not bound_pattern(str(entry["ref"])).fullmatch(artifact):
            why = f"{artifact} is not what the output's ref {entry['ref']!r} binds to"
        else:
            rules.check_locality(produced.locality)
            if entry.get("locality") and not template_variables(str(entry["locality"])) \
                    and produced.locality != entry["locality"]:
                why = f"its locality {produced.locality} is not the declared {entry['locality']}"
            else:
                rules.check_produce(list(consumed), [(artifact, produced.locality)])
    except (InvalidArtifact, LocalityRefused, AnnotationError) as exc:
        why = str(getattr(exc, "message", exc))
    if why is not None:
        _refused(record, produced, why)
    return why is None

