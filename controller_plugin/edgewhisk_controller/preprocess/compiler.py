"""The function preprocessor: an action's annotation compiled into placement constraints.

Why compile: an action version's annotation never changes, so the mapping from annotation to
constraints (the table below) runs once per version and is cached; each
invocation only binds ``{variables}`` (``variables.py``), and the engine caches its filter masks
and static scores per bound constraint set.

The mapping, row by row (each constraint's arguments are its plugin's typed ``Args`` from
``placement.constraints``; strings may hold ``{variables}`` until bound)::

    source                       args                                          hard?
    always (``constraints.always``, first in every compiled action):
                                 HealthArgs()                                  hard
                                 NamespaceAccessArgs(ns)                       hard
                                 ResourcesFitArgs(memory limit)                hard
                                 RuntimeKindArgs(exec kind)                    hard
                                 BalancedLoadArgs()                            soft
                                 WarmContainerArgs("ns/name@version")          soft
                                 ProximityArgs(None)  (caller's site, bound per call)  soft
    policy.fn(node=...)          NodeSelectorArgs("{usr}_device")              strict
    policy.fn(capability=...)    CapabilityArgs(("gpu",))                      strict
    policy.data(network=[...])   NetworkMembershipArgs(("company",))           strict
    policy.context(battery=...)  BatteryLevelArgs(">=", 0.3)                   strict
    policy.context(charging=...) DeviceStateArgs("charging", True)             strict
    policy.context(idle=...)     DeviceStateArgs("idle", True)                 strict
    policy.context(metered=...)  DeviceStateArgs("metered", False)             strict
    policy.context(network=...)  NetworkMembershipArgs(("home_{usr}",))        strict
    policy.wait(within)          no constraint: ``CompiledAction.wait_s`` (pending work)
    consumed, locality 'local'   ArtifactLocalityArgs((keys,))                 hard
    every consumed artifact      ArtifactLocalityArgs((keys,))                 soft
    consumed model / exec image  CachedArtifactArgs((keys,))                   soft
    policy.deadline(within)      DeadlineFeasibilityArgs(2.0, "ns/name@version", (keys,))
                                                                               strict
    policy.offline(...)          none: which devices keep a copy (``edgewhisk.offline``)

An artifact's key is its ref (``{usr}/glucose``, bound to ``u1/glucose``) or, for a model
chosen by selector, its name — the same path the runtime's resolver reads under its artifacts
folder; an image's key is the image reference. Soft weights come from ``weights.py``.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import edgewhisk

from ..placement import constraints as c
from ..placement.constraints import Args, Constraint
from ..schema import stored as entities
from .model import ANNOTATION, ArtifactNeed, CompiledAction, arguments, has_variable
from .weights import Weights, default_weights

CACHE_SIZE = 4096
"""Compiled action versions kept (LRU); a compile is cheap, this only bounds memory."""


def _strings(value: str | list[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


class _Builder:
    """Collects constraints in table order, weighting the soft ones."""

    def __init__(self, weights: Weights) -> None:
        self.weights = weights
        self.out: list[Constraint] = []

    def add(self, args: Args, hard: bool) -> None:
        weight = 1.0 if hard else self.weights.of(args.PLUGIN)
        self.out.append(Constraint(args, hard, weight))


def _policies(b: _Builder, doc: Mapping[str, Any], key: str,
              needs: tuple[ArtifactNeed, ...]) -> None:
    for policy in doc["policies"]:
        strict = bool(policy.get("strict", False))
        if policy["type"] == "fn":
            if "node" in policy:
                b.add(c.NodeSelectorArgs(policy["node"]), strict)
            if "capability" in policy:
                b.add(c.CapabilityArgs(_strings(policy["capability"])), strict)
        elif policy["type"] == "data":
            b.add(c.NetworkMembershipArgs(_strings(policy["network"])), strict)
        elif policy["type"] == "context":
            _context(b, policy, strict)
        elif policy["type"] == "deadline":
            within = edgewhisk.parse_duration(policy["within"])
            b.add(c.DeadlineFeasibilityArgs(within, key, tuple(n.key for n in needs)), strict)


def _context(b: _Builder, policy: Mapping[str, Any], strict: bool) -> None:
    """``policy.context``: one constraint per condition, over the live context columns."""
    if "battery" in policy:
        op, level = edgewhisk.parse_predicate(policy["battery"])
        b.add(c.BatteryLevelArgs(op, level), strict)
    for state in c.DEVICE_STATES:
        if state in policy:
            b.add(c.DeviceStateArgs(state, bool(policy[state])), strict)
    if "network" in policy:
        b.add(c.NetworkMembershipArgs(_strings(policy["network"])), strict)


def wait_of(doc: Mapping[str, Any]) -> float | None:
    """Seconds an activation may wait to be placed (``policy.wait``); None: it may not."""
    for policy in doc["policies"]:
        if policy["type"] == "wait":
            return edgewhisk.parse_duration(policy["within"])
    return None


def _artifacts(b: _Builder, needs: tuple[ArtifactNeed, ...], image: str | None) -> None:
    local = tuple(n.key for n in needs if n.locality == "local")
    if local:
        b.add(c.ArtifactLocalityArgs(local), True)
    if needs:
        b.add(c.ArtifactLocalityArgs(tuple(n.key for n in needs)), False)
    cached = tuple(n.key for n in needs if n.kind == "model") + ((image,) if image else ())
    if cached:
        b.add(c.CachedArtifactArgs(cached), False)


def needs_of(doc: Mapping[str, Any]) -> tuple[ArtifactNeed, ...]:
    """The consumed artifacts of a normalised annotation, in source order."""
    return tuple(
        ArtifactNeed(
            name=a["name"],
            kind=a["kind"],
            ref=a.get("ref"),
            selector=a.get("selector"),
            locality=a.get("locality"),
        )
        for a in doc["consumes"]
    )


def annotation_of(action: Mapping[str, Any]) -> dict[str, Any]:
    """The action's normalised ``edgewhisk`` annotation; an empty one when it has none."""
    given = entities.annotation(action, ANNOTATION)
    return edgewhisk.validate(given if given is not None else {"version": 1})


def version_key(action: Mapping[str, Any]) -> str:
    """``ns/name@version`` of a stored action document."""
    ns = action.get("namespace") or entities.DEFAULT_NAMESPACE
    return f"{entities.path(ns, action['name'])}@{action.get('version', '0.0.1')}"


def _shape(action: Mapping[str, Any]) -> str:
    """A digest of everything in an action document that the constraints depend on.

    ``repr`` is stable here: the API stores the annotation as ``validate`` normalised it (a
    fixed key order), and it is cheaper than canonical JSON on the invoke path.
    """
    exec_ = entities.exec_of(action)
    shape = (entities.annotation(action, ANNOTATION), exec_["kind"], exec_.get("image"),
             entities.limits(action)["memory"])
    return hashlib.blake2b(repr(shape).encode(), digest_size=16).hexdigest()


def _compile(action: Mapping[str, Any], weights: Weights, digest: str) -> CompiledAction:
    doc = annotation_of(action)
    key = version_key(action)
    # an action in a package has the namespace ``ns/pkg``: invokers serve namespaces
    ns = (action.get("namespace") or entities.DEFAULT_NAMESPACE).split("/", 1)[0]
    needs = needs_of(doc)
    exec_ = entities.exec_of(action)
    b = _Builder(weights)
    b.out.extend(c.always(ns, exec_["kind"], entities.limits(action)["memory"], key, None,
                          weights.of))
    _policies(b, doc, key, needs)
    _artifacts(b, needs, exec_.get("image") if exec_["kind"] == "blackbox" else None)
    templated = tuple(i for i, k in enumerate(b.out)
                      if any(map(has_variable, arguments(k.args).values())))
    return CompiledAction(key, tuple(b.out), frozenset(edgewhisk.variables(doc)), needs, digest,
                          templated, wait_of(doc))


class Compiler:
    """Compiles action documents, caching the result per version, annotation and weights."""

    def __init__(self, weights: Weights | None = None, *, cache_size: int = CACHE_SIZE) -> None:
        self.weights = weights if weights is not None else default_weights()
        self.cache_size = cache_size
        self._cache: OrderedDict[str, CompiledAction] = OrderedDict()

    def compile(self, action: Mapping[str, Any]) -> CompiledAction:
        """The compiled form of a stored action document (``AnnotationError`` if invalid).

        Keyed by the revision and a digest of its shape, not by the revision alone: an action
        bound for one user (``{usr}`` filled in the annotation) keeps its stored ``_id`` and
        ``_rev``, and each binding must compile to its own constraints."""
        shape = _shape(action)
        cache_key = f"{version_key(action)}#{shape}"
        hit = self._cache.get(cache_key)
        if hit is not None:
            self._cache.move_to_end(cache_key)
            return hit
        weighed = f"{shape}{self.weights.items()!r}".encode()
        digest = hashlib.blake2b(weighed, digest_size=16).hexdigest()
        compiled = _compile(action, self.weights, digest)
        self._cache[cache_key] = compiled
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return compiled

    def __len__(self) -> int:
        return len(self._cache)


_default = Compiler()


def compile_action(action: Mapping[str, Any]) -> CompiledAction:
    """Compile ``action`` with the default weights (cached; see ``Compiler``)."""
    return _default.compile(action)
