"""The function preprocessor: an action's annotation compiled into placement constraints.

Why compile: an action version's annotation never changes, so the mapping from annotation to
constraints (the table below) runs once per version and is cached; each
invocation only binds ``{variables}`` (``variables.py``), and the engine caches its filter masks
and static scores per bound constraint set.

The mapping, row by row (``args`` are what the engine's plugin receives; strings may hold
``{variables}`` until bound)::

    source                       plugin               hard?        args
    always                       Health               hard         {}
                                 NamespaceAccess      hard         {"namespace": ns}
                                 ResourcesFit         hard         {"memory_mb": limit}
                                 RuntimeKind          hard         {"kind": exec kind}
                                 BalancedLoad         soft         {}
                                 WarmContainer        soft         {"action": "ns/name@version"}
    policy.fn(node=...)          NodeSelector         strict       {"node": "{usr}_device"}
    policy.fn(capability=...)    Capability           strict       {"capabilities": ("gpu",)}
    policy.data(network=[...])   NetworkMembership    strict       {"networks": ("company",)}
    consumed, locality 'local'   ArtifactLocality     hard         {"artifacts": (keys,)}
    every consumed artifact      ArtifactLocality     soft         {"artifacts": (keys,)}
    consumed model / exec image  CachedArtifact       soft         {"artifacts": (keys,)}
    policy.deadline(within)      DeadlineFeasibility  strict       {"within_s": 2.0, "action":
                                                                    "ns/name@version",
                                                                    "artifacts": (keys,)}
    caller location              Proximity            soft         {"site": None}  (bound per call)

An artifact's key is its ref (``{usr}/glucose``, bound to ``u1/glucose``) or, for a model
chosen by selector, its name — the same path the runtime's resolver reads under its artifacts
folder; an image's key is the image reference. Soft weights come from ``weights.py``.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import edgewhisk

from ..placement import constraints as c
from ..placement.constraints import Constraint, HardAndSoft
from ..schema import stored as entities
from .weights import Weights, default_weights

if TYPE_CHECKING:
    from .variables import BoundAction

ANNOTATION = "edgewhisk"
CACHE_SIZE = 4096
"""Compiled action versions kept (LRU); a compile is cheap, this only bounds memory."""


@dataclass(frozen=True)
class ArtifactNeed:
    """A consumed artifact: what the action needs injected, and where it may come from."""

    name: str  # the keyword argument of main
    kind: str  # "data" | "model"
    ref: str | None  # may hold {variables} until bound
    selector: Mapping[str, Any] | None
    locality: str | None  # "local" | "cloud" | "network:NAME" | None

    @property
    def key(self) -> str:
        """The artifact's key for locality and caching: its ref, else its name."""
        return self.ref if self.ref is not None else self.name


@dataclass(frozen=True)
class CompiledAction(HardAndSoft):
    """One action version's constraints, with ``{variables}`` still unbound."""

    key: str  # "ns/name@version"
    constraints: tuple[Constraint, ...]
    variables: frozenset[str]
    artifacts: tuple[ArtifactNeed, ...]
    digest: str  # of the annotation and weights this was compiled from
    templated: tuple[int, ...] = ()  # indexes of the constraints whose args hold {variables}

    def bind(self, params: Mapping[str, Any], *, site: str | None = None) -> BoundAction:
        """Bind every variable from ``params`` (see ``variables.bind``)."""
        from .variables import bind

        return bind(self, params, site=site)


def _strings(value: str | list[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


class _Builder:
    """Collects constraints in table order, weighting the soft ones."""

    def __init__(self, weights: Weights) -> None:
        self.weights = weights
        self.out: list[Constraint] = []

    def add(self, plugin: str, hard: bool, **args: Any) -> None:
        weight = 1.0 if hard else self.weights.of(plugin)
        self.out.append(Constraint(plugin, args, hard, weight))


def _always(b: _Builder, ns: str, action: Mapping[str, Any], key: str) -> None:
    b.add(c.HEALTH, True)
    b.add(c.NAMESPACE_ACCESS, True, namespace=ns)
    b.add(c.RESOURCES_FIT, True, memory_mb=entities.limits(action)["memory"])
    b.add(c.RUNTIME_KIND, True, kind=entities.exec_of(action)["kind"])
    b.add(c.BALANCED_LOAD, False)
    b.add(c.WARM_CONTAINER, False, action=key)


def _policies(b: _Builder, doc: Mapping[str, Any], key: str,
              needs: tuple[ArtifactNeed, ...]) -> None:
    for policy in doc["policies"]:
        strict = bool(policy.get("strict", False))
        if policy["type"] == "fn":
            if "node" in policy:
                b.add(c.NODE_SELECTOR, strict, node=policy["node"])
            if "capability" in policy:
                b.add(c.CAPABILITY, strict, capabilities=_strings(policy["capability"]))
        elif policy["type"] == "data":
            b.add(c.NETWORK_MEMBERSHIP, strict, networks=_strings(policy["network"]))
        elif policy["type"] == "deadline":
            within = edgewhisk.parse_duration(policy["within"])
            b.add(c.DEADLINE_FEASIBILITY, strict, within_s=within, action=key,
                  artifacts=tuple(n.key for n in needs))


def _artifacts(b: _Builder, needs: tuple[ArtifactNeed, ...], image: str | None) -> None:
    local = tuple(n.key for n in needs if n.locality == "local")
    if local:
        b.add(c.ARTIFACT_LOCALITY, True, artifacts=local)
    if needs:
        b.add(c.ARTIFACT_LOCALITY, False, artifacts=tuple(n.key for n in needs))
    cached = tuple(n.key for n in needs if n.kind == "model") + ((image,) if image else ())
    if cached:
        b.add(c.CACHED_ARTIFACT, False, artifacts=cached)


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
    ns = action.get("namespace") or entities.DEFAULT_NAMESPACE
    needs = needs_of(doc)
    exec_ = entities.exec_of(action)
    b = _Builder(weights)
    _always(b, ns, action, key)
    _policies(b, doc, key, needs)
    _artifacts(b, needs, exec_.get("image") if exec_["kind"] == "blackbox" else None)
    b.add(c.PROXIMITY, False, site=None)
    templated = tuple(i for i, k in enumerate(b.out) if any(map(has_variable, k.args.values())))
    return CompiledAction(key, tuple(b.out), frozenset(edgewhisk.variables(doc)), needs, digest,
                          templated)


def has_variable(value: Any) -> bool:
    """Whether an argument (a string, or a tuple of them) holds a ``{variable}``."""
    if isinstance(value, str):
        return "{" in value
    return isinstance(value, tuple) and any(map(has_variable, value))


class Compiler:
    """Compiles action documents, caching the result per version, annotation and weights."""

    def __init__(self, weights: Weights | None = None, *, cache_size: int = CACHE_SIZE) -> None:
        self.weights = weights if weights is not None else default_weights()
        self.cache_size = cache_size
        self._cache: OrderedDict[str, CompiledAction] = OrderedDict()

    def compile(self, action: Mapping[str, Any]) -> CompiledAction:
        """The compiled form of a stored action document (``AnnotationError`` if invalid)."""
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
