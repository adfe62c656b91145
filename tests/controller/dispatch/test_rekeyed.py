"""A model chosen by selector is placed by the registry name it resolved to.

The compiler keys ``@consumes.model(name="base", selector=...)`` as ``base``: it cannot know
which model the selector picks. Devices report what their node store holds by registry name,
so the dispatcher rekeys the bound constraints after resolving: the real compiler and the real
placement engine then prefer the invoker that already holds the chosen model.
"""

from __future__ import annotations

from typing import Any

from edgewhisk_controller.artifacts.plan import ArtifactPlan
from edgewhisk_controller.dispatch.artifacts import rekeyed
from edgewhisk_controller.placement import PlacementRequest
from edgewhisk_controller.placement.constraints import KEYED_BY_ARTIFACT
from edgewhisk_controller.preprocess import Compiler, bind

from ..placement.cluster import engine_of, inv

SELECTOR = {"type": "classifier", "metrics": {"accuracy": ">=0.8"}}
ACTION: dict[str, Any] = {
    "namespace": "guest", "name": "refine", "version": "0.0.1",
    "exec": {"kind": "python:3", "code": "def main(a): return a"}, "limits": {"memory": 256},
    "annotations": [{"key": "edgewhisk", "value": {"version": 1, "consumes": [
        {"kind": "model", "name": "base", "selector": SELECTOR}]}}],
}
REQUEST = PlacementRequest("guest/refine", "python:3", 256, "guest", version="0.0.1")
DOC = {"_id": "guest/glucose-base@2", "name": "glucose-base", "version": 2, "size": 50 << 20,
       "sha256": "ab" * 32, "format": "mxnet-gluon", "locality": "cloud", "kind": "model"}


def _bound_and_plan() -> tuple[Any, ArtifactPlan]:
    bound = bind(Compiler().compile(ACTION), {})
    (need,) = bound.artifacts
    return bound, ArtifactPlan(consumed=((need, DOC),))


def test_the_selector_model_is_keyed_by_the_registry_name_it_resolved_to() -> None:
    bound, found = _bound_and_plan()
    keyed = rekeyed(bound, found)
    artifacts = {k.plugin: k.args.artifacts for k in keyed.constraints
                 if isinstance(k.args, KEYED_BY_ARTIFACT)}
    assert artifacts and all("glucose-base" in keys and "base" not in keys
                             for keys in artifacts.values())
    assert keyed.key != bound.key  # cached apart from another resolution
    assert rekeyed(keyed, ArtifactPlan()) is keyed  # nothing resolved by selector: unchanged


def test_placement_then_prefers_the_invoker_holding_the_chosen_model() -> None:
    bound, found = _bound_and_plan()
    engine = engine_of([inv("empty-0"), inv("holder-1", cached={"glucose-base"})])
    engine.artifact_sizes({"glucose-base": DOC["size"], "base": DOC["size"]})
    assert engine.place(REQUEST, rekeyed(bound, found)) == "holder-1"
    assert engine.place(REQUEST, bound) == "empty-0"  # keyed "base", nobody seems to hold it
