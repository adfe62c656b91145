"""A model chosen by selector is placed by the registry name it resolved to.

The compiler keys ``@consumes.model(name="base", selector=...)`` as ``base``: it cannot know
which model the selector picks. Devices report what their node store holds by registry name,
so the dispatcher rekeys the bound constraints after resolving: the real compiler and the real
placement engine then prefer the invoker that already holds the chosen model. A consumed
version the registry says is ``local`` becomes a hard constraint there too, when the consumer's
annotation did not say so (its transfer score alone lost to a warm container elsewhere).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from edgewhisk_controller.artifacts.plan import ArtifactPlan
from edgewhisk_controller.dispatch.artifacts import rekeyed
from edgewhisk_controller.dispatch.sources import held_only
from edgewhisk_controller.placement import PlacementRequest, Unschedulable
from edgewhisk_controller.placement.constraints import KEYED_BY_ARTIFACT, ArtifactLocalityArgs
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


def _reading(locality: str | None) -> dict[str, Any]:
    consume = {"kind": "data", "name": "readings", "ref": "{usr}/glucose"}
    return {**ACTION, "name": "read", "annotations": [{"key": "edgewhisk", "value": {
        "version": 1, "consumes": [consume if locality is None
                                   else {**consume, "locality": locality}]}}]}


def _readings_doc(locality: str) -> dict[str, Any]:
    return {**DOC, "_id": "guest/u1/glucose@1", "name": "u1/glucose", "version": 1,
            "size": 24, "format": "bytes", "kind": "data", "locality": locality}


@pytest.mark.parametrize("said, resolved, added", [
    (None, "local", True),  # the producer said local, the consumer nothing: hard from here
    ("local", "local", False),  # the consumer said it: the compiler made it hard already
    (None, "cloud", False),
    (None, "network:plant", False),  # sources.unreachable's, not a holder's
])
def test_a_local_version_is_a_hard_constraint_once_resolved(
        said: str | None, resolved: str, added: bool) -> None:
    bound = bind(Compiler().compile(_reading(said)), {"usr": "u1"})
    (need,) = bound.artifacts
    keyed = rekeyed(bound, ArtifactPlan(consumed=((need, _readings_doc(resolved)),)))
    hard = [k.args.artifacts for k in keyed.hard if isinstance(k.args, ArtifactLocalityArgs)]
    assert hard == ([("u1/glucose",)] if added or said == "local" else [])
    assert (keyed is not bound) == added
    if added:
        assert keyed.key != bound.key  # cached apart from the same action's cloud readings


def test_placement_then_chooses_the_holder_or_says_there_is_none() -> None:
    bound = bind(Compiler().compile(_reading(None)), {"usr": "u1"})
    (need,) = bound.artifacts
    keyed = rekeyed(bound, ArtifactPlan(consumed=((need, _readings_doc("local")),)))
    request = PlacementRequest("guest/read", "python:3", 256, "guest", version="0.0.1")
    engine = engine_of([inv("warm-0"), inv("holder-1", cached={"u1/glucose"})])
    engine.placed("warm-0", 256, request.key)
    engine.completed("warm-0", 256, request.key, 5.0, True)  # a warm container there
    assert engine.place(request, keyed) == "holder-1"
    assert engine.place(request, bound) == "warm-0"  # by the scores alone: the warm one
    nobody = engine_of([inv("warm-0"), inv("other-1")])
    decision = nobody.place(request, keyed)
    assert isinstance(decision, Unschedulable)
    assert decision.excluded == {"without artifact u1/glucose": 2}


def _doc(name: str, locality: str, copies: list[str]) -> dict[str, Any]:
    return {**_readings_doc(locality), "_id": f"guest/{name}@1", "name": name,
            "copies": copies}


@pytest.mark.parametrize("excluded, named", [
    ({"without artifact u1/a and u1/b": 2}, {"without artifact u1/a and u1/b": ("p1", "no")}),
    # the annotation declared one local (the compiler's constraint), the other was rekeyed
    ({"without artifact u1/a": 1, "without artifact u1/b": 1},
     {"without artifact u1/a": ("p1",), "without artifact u1/b": ("no",)}),
    ({"without artifact u1/a and cloud-x": 2}, {}),  # not all local: as the engine said it
    ({"not matching node cloud-0": 1, "without artifact u1/b": 1},
     {"without artifact u1/b": ("no",)}),
    ({"not matching node cloud-0": 2}, {}),
])
def test_the_reason_names_the_rule_and_holders_of_each_local_constraint(
        excluded: dict[str, int], named: dict[str, tuple[str, ...]]) -> None:
    """``sources.held_only`` adds the locality rule and the holders to every count of
    invokers without artifacts that are all ``local`` versions consumed, whether they are
    one constraint or two; any other count is left as the engine said it."""
    docs = [_doc("u1/a", "local", ["p1"]), _doc("u1/b", "local", []),
            _doc("cloud-x", "cloud", ["c0"])]
    decision = held_only(docs, Unschedulable(total=2, excluded=excluded))
    assert decision.excluded == excluded
    assert set(decision.detail) == set(named)
    for said, holders in named.items():
        detail = decision.detail[said]
        assert re.findall(r"held by ([^;)]+)", detail) == [
            "no invoker" if holder == "no" else holder for holder in holders]
        assert detail.count("is local to its device") == len(holders)
