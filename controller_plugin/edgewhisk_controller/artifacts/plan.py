"""An activation's artifacts, planned before it runs: consumes resolved, produces allocated.

Why before placement: what an activation reads is decided by the registry, not by whatever
an invoker happens to hold, so every consume is resolved to one registry version first — a
bound ref to its latest version (or the ``@version`` it pins), a selector through
``ArtifactRegistry.resolve`` — and an artifact that cannot be resolved ends the activation with a
clear error before anything runs. The resolved sizes feed the placement engine's transfer
estimates (``feed_sizes``), and the locality rules can then be checked against the chosen
invoker (``locality.check_placement``).

Two steps, so that a refused activation changes nothing: ``resolve`` only reads (the
registry, the annotation's produces and their localities, ``locality.check_produce``);
``allocate`` reserves the produced versions (the registry's counters) once the activation
is placed and allowed to run there. A run that then fails leaves a version gap, never a reuse.

An output that declares no locality gets the widest its inputs allow (``locality.widest``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import edgewhisk
from edgewhisk.gates import REFERENCE_KEY
from edgewhisk_tunnel import Consumed, Produce

from ..placement.interface import PlacementEngine
from ..stores import Doc
from . import locality as rules
from .exceptions import ArtifactNotFound, InvalidArtifact, NoMatchingVersion
from .keys import check_name, check_version, doc_id

if TYPE_CHECKING:
    from ..preprocess import ArtifactNeed
    from .registry import ArtifactRegistry


@dataclass(frozen=True)
class Output:
    """One produced artifact of the activation: ``name`` keys it in the result body,
    ``artifact`` is its registry name (the bound ref)."""

    name: str
    kind: str
    artifact: str
    locality: str


@dataclass(frozen=True)
class ArtifactPlan:
    """What an activation reads (needs with their resolved versions) and writes."""

    consumed: tuple[tuple[ArtifactNeed, Doc], ...] = ()
    outputs: tuple[Output, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.consumed or self.outputs)

    @property
    def docs(self) -> tuple[Doc, ...]:
        return tuple(doc for _, doc in self.consumed)

    def consumes(self) -> tuple[Consumed, ...]:
        """The consumes of the run, as the invoker stages them (a model with the training
        reference its metadata holds, for the runtime's drift gates)."""
        return tuple(
            Consumed(name=need.name, kind=need.kind, key=doc["_id"], sha256=doc["sha256"],
                     size=int(doc["size"]), format=doc["format"], locality=doc["locality"],
                     reference=_reference(doc))
            for need, doc in self.consumed)

    def targets(self, produces: Sequence[Produce]) -> dict[str, str]:
        """The registry key of each artifact a gate may target, by its name in the
        annotation: the consumed versions and the allocated produced ones."""
        return {**{need.name: doc["_id"] for need, doc in self.consumed},
                **{p.name: p.ref for p in produces}}

    def sizes(self) -> dict[str, int]:
        """Bytes per placement key (the need's key) and per registry name."""
        sizes: dict[str, int] = {}
        for need, doc in self.consumed:
            sizes[need.key] = sizes[doc["name"]] = int(doc["size"] or 0)
        return sizes

    def lineage(self) -> dict[str, Any]:
        """``lineage_of`` what was consumed."""
        return lineage_of(self.docs)


def lineage_of(docs: Sequence[Doc]) -> dict[str, Any]:
    """``{"model": key, "data": [keys]}`` of the consumed versions ``docs`` (``model`` a list
    when several models were, absent when none was)."""
    models = [doc["_id"] for doc in docs if doc["kind"] == "model"]
    lineage: dict[str, Any] = {"data": [doc["_id"] for doc in docs if doc["kind"] == "data"]}
    if models:
        lineage["model"] = models[0] if len(models) == 1 else models
    return lineage


def _reference(doc: Doc) -> Mapping[str, Any] | None:
    reference = (doc.get("metadata") or {}).get(REFERENCE_KEY)
    return reference if doc["kind"] == "model" and isinstance(reference, Mapping) else None


async def resolve(registry: ArtifactRegistry, ns: str, needs: Sequence[ArtifactNeed],
                  produces: Sequence[Mapping[str, Any]],
                  values: Mapping[str, str]) -> ArtifactPlan:
    """Resolve ``needs`` (refs bound) and bind ``produces`` (annotation entries) with
    ``values``; refuse an output wider than its inputs. Reads only."""
    consumed = tuple([(need, await _version(registry, ns, need)) for need in needs])
    docs = [doc for _, doc in consumed]
    outputs = tuple([await _output(registry, ns, entry, values, docs) for entry in produces])
    rules.check_produce(docs, [(o.artifact, o.locality) for o in outputs])
    return ArtifactPlan(consumed, outputs)


async def allocate(registry: ArtifactRegistry, ns: str, plan: ArtifactPlan) -> tuple[Produce, ...]:
    """Reserve a version of each output: ``Produce.ref`` is its registry key."""
    return tuple([
        Produce(name=o.name, kind=o.kind, locality=o.locality,
                ref=doc_id(ns, o.artifact, await registry.allocate(ns, o.artifact, o.kind)))
        for o in plan.outputs])


def feed_sizes(engine: PlacementEngine, plan: ArtifactPlan) -> None:
    """Tell the placement engine the consumed sizes (its transfer-time estimates)."""
    if plan.consumed:
        engine.artifact_sizes(plan.sizes())


async def _version(registry: ArtifactRegistry, ns: str, need: ArtifactNeed) -> Doc:
    what = f"consumed {need.kind} {need.name!r}"
    try:
        if need.ref is not None:
            name, at, version = need.ref.rpartition("@") if "@" in need.ref.rsplit("/", 1)[-1] \
                else (need.ref, "", "")
            doc = await registry.get(ns, check_name(name), check_version(version) if at else None)
        elif need.selector is not None:
            doc = await registry.resolve(ns, need.selector)
        else:  # the annotation schema gives every consume a ref or a selector
            raise InvalidArtifact(f"{what}: neither a ref nor a selector")
    except NoMatchingVersion as exc:
        named = NoMatchingVersion(f"{what}: {exc.message}", [])
        named.details = exc.details  # the candidates, and which predicate each failed
        raise named from None
    except ArtifactNotFound as exc:
        raise ArtifactNotFound(f"{what}: {exc.message}; nothing was run") from None
    except InvalidArtifact as exc:
        raise InvalidArtifact(f"{what}: {exc.message}") from None
    if doc["kind"] != need.kind:
        raise InvalidArtifact(f"{what} resolved to {rules.label(doc)}, which is a "
                              f"{doc['kind']}, not a {need.kind}")
    return doc


async def _output(registry: ArtifactRegistry, ns: str, entry: Mapping[str, Any],
                  values: Mapping[str, str], consumed: Sequence[Doc]) -> Output:
    what = f"produced {entry['kind']} {entry['name']!r}"
    try:
        artifact = check_name(edgewhisk.bind(entry["ref"], values))
        given = entry.get("locality")
        locality = rules.check_locality(edgewhisk.bind(given, values)) if given \
            else rules.widest(consumed)
    except edgewhisk.AnnotationError as exc:
        raise InvalidArtifact(f"{what}: {exc.reason}") from None
    except InvalidArtifact as exc:
        raise InvalidArtifact(f"{what}: {exc.message}") from None
    try:
        latest = await registry.get(ns, artifact)
    except ArtifactNotFound:
        latest = None
    if latest is not None and latest["kind"] != entry["kind"]:
        raise InvalidArtifact(f"{what}: artifact {artifact} is a {latest['kind']}; a new "
                              f"version cannot be a {entry['kind']}")
    return Output(entry["name"], entry["kind"], artifact, locality)
