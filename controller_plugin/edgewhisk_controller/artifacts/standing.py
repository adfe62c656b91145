"""Standing preload policies: "keep artifact A on every device this selector picks, whenever
its context allows" — re-evaluated on every registration and context change.

Why standing: a one-shot ``POST .../preload`` reaches the devices online and suitable *now*; a
fleet's phones come and go, charge at night, change networks. A policy (stored in
``preload_policies``, so it survives restarts) names an artifact (its latest ``cloud`` version,
so a new version follows) and a device selector (``preload.DeviceSelector``: labels, owner,
role, networks, site, capabilities, and context conditions: ``min_battery``, ``charging``,
``unmetered``). The placement engine tells ``changed(invoker, fields)`` after every registration
and heartbeat (``PlacementEngine.listen``); a change of what a selector reads re-evaluates that
invoker's policies once per loop turn, and new ``cloud`` versions of models re-evaluate every
invoker once per burst (``BURST_S``: a policy's artifact moved on, or the predictor may want
it). A match whose invoker does
not hold the latest version gets it pushed (``preload.push``): a local invoker stages it into
its node store, an edge device through the tunnel. The node store keeps its byte budget itself
(an LRU of unpinned copies; it never evicts what a run leases or what is pinned, and refuses
what cannot fit): such a refusal is the decision's reason.

On the same events the predictor's picks are preloaded (``predict.py``: learnt from placement
history), only while the device is charging or mains powered and on an unmetered network.

Every decision is kept (the last ``DECISIONS``) with its reason, logged, and shown: with the
artifact's policies (``GET .../artifacts/NAME/preload-policies``, the predictor's as the entry
``predictor``) and with each invoker (``GET .../invokers``: ``preloads``).

Several controllers (``cluster/``): every controller keeps every policy, those the others make
or delete followed through the store's changes feed (:meth:`StandingPreloads.followed`). What
a device reports is acted on by the controller holding its tunnel only: the others see it
second-hand (``Invoker.forwarded``) and would push the same bytes again. What happens at one
controller (a policy made there, a new version uploaded there) is applied there to every
device, a peer's through the peer (``PeerInvoker.preload``); a policy arriving through the
feed is applied by each controller to the devices it holds, ``FOLLOWED_S`` later (the one
that made it may not have seen a device that had just registered elsewhere); the holder's hub
sends a version to a device once whoever asks at the same time (``ArtifactService.push``).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from ..background import Tasks
from ..exceptions import ControllerError
from ..placement.interface import REGISTERED, PlacementEngine
from ..stores import Doc, Store, Write
from . import locality as rules
from .exceptions import ArtifactNotFound, InvalidArtifact
from .predict import Predictor
from .preload import DeviceSelector, Target, push, serves
from .registry import ArtifactRegistry

log = logging.getLogger(__name__)

ANY = next(iter(REGISTERED))  # what a registration changes: everything
POLICIES = "preload_policies"
PREDICTOR = "predictor"
"""The ``policy`` of the predictor's decisions (``predict.py``)."""
DECISIONS = 1000
"""Decisions kept in memory (the newest)."""
BURST_S = 0.2
"""New versions within this long of the first are evaluated together (one pass over every
invoker per burst, not one per version)."""
FOLLOWED_S = 1.0
"""A policy made at another controller is applied here this long after it arrives: the
controller that made it pushes to every device it knows at once (its answer lists them) and
goes first; a device it could not know yet (one that had just registered here) gets it from
here, after it (a transfer still under way then is joined at the device's hub, not sent again)."""
READS = frozenset({"labels", "owner", "role", "networks", "site", "capabilities", "battery",
                   "charging", "metered", "healthy", "namespaces"})
"""The invoker fields a selector reads: a change of any re-evaluates the invoker."""


class SharedDecisions(Protocol):
    """Decisions shared by the controllers of a cluster (``cluster/decisions.py``), so that
    any of them lists every controller's, each naming the ``controller`` that made it."""

    controller: str

    async def add(self, decision: dict[str, Any]) -> None: ...

    async def recent(self) -> list[dict[str, Any]]:
        """The newest ``DECISIONS``, oldest first."""


@dataclass(frozen=True)
class Standing:
    """One standing policy: keep ``artifact`` (latest version) on what ``devices`` picks."""

    id: str
    namespace: str
    artifact: str
    devices: DeviceSelector
    raw: dict[str, Any]  # the selector as given (shown back)
    created: int

    def doc(self) -> Doc:
        return {"_id": self.id, "namespace": self.namespace, "artifact": self.artifact,
                "devices": self.raw, "created": self.created}

    @classmethod
    def of(cls, doc: Doc) -> Standing:
        return cls(doc["_id"], doc["namespace"], doc["artifact"],
                   DeviceSelector.parse(doc["devices"]), dict(doc["devices"]), doc["created"])

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "artifact": self.artifact, "devices": self.raw,
                "created": self.created}


class StandingPreloads:
    """The policies of every namespace, evaluated as invokers change."""

    def __init__(self, store: Store, registry: ArtifactRegistry, engine: PlacementEngine,
                 invoker: Callable[[str], Target | None],
                 everyone: Callable[[], Iterable[str]],
                 predictor: Predictor | None = None) -> None:
        """``invoker``: an invoker by id (None: gone); ``everyone``: every invoker's id."""
        self.store, self.registry, self.invoker = store, registry, invoker
        self.everyone = everyone
        self.predictor = predictor if predictor is not None else Predictor()
        self.policies: dict[str, Standing] = {}
        self.decisions: collections.deque[dict[str, Any]] = collections.deque(maxlen=DECISIONS)
        self.shared: SharedDecisions | None = None  # a cluster's (set when it joins)
        self._loaded = False
        self._due: dict[str, bool] = {}  # invoker id -> also if another controller holds it
        self._busy: set[tuple[str, str]] = set()  # (invoker, version key) being pushed
        self._tasks = Tasks("standing preloads")
        self._burst: asyncio.TimerHandle | None = None  # new versions arrived: soon everyone
        self._following = 0  # policies from the feed not applied yet (``FOLLOWED_S``)
        engine.listen(self.changed)
        registry.listen(self.version_added)

    async def load(self) -> None:
        if not self._loaded:
            for doc in await self.store.list(POLICIES):
                self.policies.setdefault(doc["_id"], Standing.of(doc))
            self._loaded = True

    # -- the API's side ----------------------------------------------------------------------

    async def add(self, ns: str, artifact: str, devices: Any,
                  everyone: Iterable[Target]) -> tuple[Standing, list[dict[str, Any]]]:
        """Store a policy for ``artifact`` of ``ns`` (its latest version must be ``cloud``:
        ``LocalityRefused`` otherwise) and apply it to the invokers online now."""
        await self.load()
        if devices is not None and not isinstance(devices, dict):
            raise InvalidArtifact("devices: must be an object, e.g. {\"owner\": \"u1\"}")
        selector = DeviceSelector.parse(devices)
        rules.check_preload(await self.registry.get(ns, artifact))
        policy = Standing(f"{ns}/{artifact}#{uuid.uuid4().hex[:12]}", ns, artifact, selector,
                          dict(devices or {}), int(time.time() * 1000))
        self.policies[policy.id] = policy  # known before the store's echo on the changes feed
        try:
            await self.store.put(POLICIES, policy.doc())
        except BaseException:
            del self.policies[policy.id]
            raise
        done = await asyncio.gather(*(self._apply(policy, target) for target in everyone))
        return policy, [d for d in done if d is not None]

    async def remove(self, ns: str, artifact: str, policy_id: str) -> Standing:
        await self.load()
        policy = self.policies.get(f"{ns}/{artifact}#{policy_id}")
        if policy is None:
            raise ArtifactNotFound(f"no preload policy {policy_id!r} for {artifact}")
        doc = await self.store.get(POLICIES, policy.id)
        await self.store.write_many([Write(POLICIES, doc, delete=True)])
        del self.policies[policy.id]
        return policy

    async def listing(self, ns: str, artifact: str) -> list[dict[str, Any]]:
        await self.load()
        decisions = await self.recent()
        found = [{**p.public(), "id": p.id.rsplit("#", 1)[1],
                  "decisions": [d for d in decisions if d["policy"] == p.id]}
                 for p in self.policies.values() if (p.namespace, p.artifact) == (ns, artifact)]
        prefix = f"{ns}/{artifact}@"
        predicted = [d for d in decisions
                     if d["policy"] == PREDICTOR and d["artifact"].startswith(prefix)]
        if predicted:
            found.append({"id": PREDICTOR, "artifact": artifact, "decisions": predicted})
        return found

    async def recent(self) -> list[dict[str, Any]]:
        """The newest decisions, oldest first: every controller's in a cluster (this one's
        alone while the cluster's Redis cannot be read, said in the log)."""
        if self.shared is not None:
            try:
                return await self.shared.recent()
            except Exception as exc:
                log.warning("the cluster's preload decisions could not be read (%s): "
                            "this controller's only", exc)
        return list(self.decisions)

    @staticmethod
    def decisions_for(invoker_id: str, decisions: Iterable[dict[str, Any]],
                      last: int = 5) -> list[dict[str, Any]]:
        """The newest of ``decisions`` (:meth:`recent`) about one invoker
        (``GET .../invokers``)."""
        return [d for d in decisions if d["invoker"] == invoker_id][-last:]

    # -- the engine's side -------------------------------------------------------------------

    def changed(self, invoker_id: str, fields: frozenset[str]) -> None:
        """An invoker registered or reported (a ``placement`` listener); :meth:`_run` leaves
        one another controller holds to that controller."""
        idle = self._loaded and not self.policies and self.predictor.empty
        if idle or not (ANY in fields or fields & READS):
            return
        self._mark((invoker_id,))

    def followed(self, doc: Doc) -> None:
        """A policy stored or deleted by any controller (the changes feed of ``POLICIES``):
        kept in step; one this controller did not know is applied to the devices it holds."""
        if doc.get("_deleted"):
            self.policies.pop(str(doc["_id"]), None)
            return
        if "artifact" not in doc:  # not a policy (an index's design document)
            return
        policy = Standing.of(doc)
        if self.policies.setdefault(policy.id, policy) is policy:
            self._following += 1
            asyncio.get_running_loop().call_later(FOLLOWED_S, self._followed)

    def _followed(self) -> None:
        self._following -= 1
        self._mark(self.everyone())

    def _mark(self, ids: Iterable[str], *, peers: bool = False) -> None:
        """Evaluate ``ids`` on the next loop turn (none runs: nothing to preload into yet);
        ``peers``: those another controller holds too."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # an engine fed before the controller serves (its loop starts later)
        if not self._due:
            loop.call_soon(self._evaluate)
        for id in ids:
            self._due[id] = peers or self._due.get(id, False)

    def version_added(self, doc: Doc) -> None:
        """A new version (a registry listener): a ``cloud`` model a policy names, or any
        while the predictor knows something, is pushed where it is wanted."""
        if doc.get("kind") != "model" or doc.get("locality") != rules.CLOUD:
            return
        named = any((p.namespace, p.artifact) == (doc["namespace"], doc["name"])
                    for p in self.policies.values())
        if (named or not self.predictor.empty) and self._burst is None:
            try:  # a burst of new versions (a nightly retrain) is one evaluation of everyone
                self._burst = asyncio.get_running_loop().call_later(BURST_S, self._versions)
            except RuntimeError:
                pass

    def _versions(self) -> None:
        self._burst = None
        self._mark(self.everyone(), peers=True)

    def _evaluate(self) -> None:
        due, self._due = self._due, {}
        self._tasks.spawn(self._run(due))

    async def _run(self, due: dict[str, bool]) -> None:
        await self.load()
        for invoker_id, peers in sorted(due.items()):
            target = self.invoker(invoker_id)
            if target is None or (target.forwarded and not peers):
                continue
            await asyncio.gather(*(self._apply(p, target) for p in list(self.policies.values())))
            await self._predicted(target)

    async def settled(self) -> None:
        """Until every evaluation started or due so far is done (tests, the benchmark)."""
        while self._tasks or self._burst is not None or self._due or self._following:
            if self._tasks:
                await self._tasks.settled()
            else:
                await asyncio.sleep(BURST_S / 4)

    async def _apply(self, policy: Standing, target: Target) -> dict[str, Any] | None:
        """Push the policy's latest version to ``target`` if it matches and lacks it; the
        decision (None: the policy does not apply to it)."""
        state = target.state()
        if not (state.healthy and serves(target, policy.namespace)
                and policy.devices.matches(state, target.context)):
            return None
        try:
            doc = await self.registry.get(policy.namespace, policy.artifact)
        except ArtifactNotFound:
            return None
        return await self._push(policy.id, doc, target,
                                f"standing policy: {policy.devices.describe()}")

    async def _predicted(self, target: Target) -> None:
        """Preload what the predictor expects ``target`` to need, only while it is charging
        (or mains powered) and on an unmetered network (``predict.py``)."""
        state = target.state()
        if not (state.healthy and state.on_power and state.metered is not True):
            return
        for ns in sorted(state.namespaces or ()):
            for name, _, reason in self.predictor.wanted(ns, state):
                try:
                    doc = await self.registry.get(ns, name)
                    rules.check_preload(doc)
                except (ArtifactNotFound, ControllerError):
                    continue  # gone, or not a cloud version: nothing to preload
                await self._push(PREDICTOR, doc, target, reason)

    async def _push(self, source: str, doc: Doc, target: Target,
                    reason: str) -> dict[str, Any] | None:
        """Push ``doc`` to ``target`` unless it holds it (or is being sent it); the decision."""
        busy = (target.id, doc["_id"])
        if target.id in doc.get("copies", []) or busy in self._busy:
            return None
        self._busy.add(busy)
        try:
            answer = await push(doc, target)
        finally:
            self._busy.discard(busy)
        if answer["status"] == "cached":  # it held it (its report is on its way): no move
            return None
        decision = {"policy": source, "invoker": target.id, "artifact": doc["_id"],
                    "status": answer["status"], "at": int(time.time() * 1000),
                    "reason": answer["reason"] or reason}
        if self.shared is not None:
            decision["controller"] = self.shared.controller
        self.decisions.append(decision)
        log.info("preload %s to %s: %s (%s)", doc["_id"], target.id, decision["status"],
                 decision["reason"])
        if self.shared is not None:
            try:
                await self.shared.add(decision)
            except Exception as exc:  # the push happened: only the others' listing misses it
                log.warning("preload decision not shared with the cluster: %s", exc)
        return decision
