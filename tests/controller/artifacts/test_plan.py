"""Planning an activation's artifacts on a real registry (SQLite file, and CouchDB through
pouchdb-server): consumes resolve to registry versions (a bound ref to its latest or pinned
version, a selector to its best match), produces get their locality and, once allowed, a fresh
version; every bad input is a clear error that changes nothing (no version allocated)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from edgewhisk_controller.artifacts import (
    ArtifactNotFound,
    ArtifactRegistry,
    InvalidArtifact,
    LocalityRefused,
    NewArtifact,
    NoMatchingVersion,
)
from edgewhisk_controller.artifacts import plan as planning
from edgewhisk_controller.artifacts.registry import NAMES
from edgewhisk_controller.placement import Engine
from edgewhisk_controller.preprocess import ArtifactNeed
from edgewhisk_controller.stores import NotFound

from .conftest import Run, body

NS = "guest"
SELECTOR = {"type": "classifier", "trained_on": "glucose", "metrics": {"accuracy": ">=0.8"}}


@pytest.fixture
def registry(empty_registry: ArtifactRegistry, run: Run[Any]) -> ArtifactRegistry:
    seed(empty_registry, run)
    return empty_registry


def seed(registry: ArtifactRegistry, run: Run[Any]) -> None:
    """glucose-base @1 (accuracy 0.7) and @2 (0.85), both cloud; u1's readings @1 and @2,
    local on u1-phone; a data set of network plant."""
    for accuracy in (0.7, 0.85):
        run(registry.create(NS, NewArtifact(
            name="glucose-base", kind="model", owner="guest", format="mxnet-gluon",
            metadata={"type": "classifier", "trained_on": "glucose"},
            metrics={"accuracy": accuracy}), body(b"weights %r" % accuracy)))
    for day in (b"mon", b"tue"):
        run(registry.create(NS, NewArtifact(
            name="u1/glucose", kind="data", owner="u1", locality="local", format="npz",
            sha256=hashlib.sha256(day).hexdigest(), size=3, held_by="u1-phone")))
    run(registry.create(NS, NewArtifact(
        name="line/vibration", kind="data", owner="guest", locality="network:plant",
        sha256=hashlib.sha256(b"v").hexdigest(), size=1, held_by="plant-a")))


def need(name: str, kind: str = "data", ref: str | None = None,
         selector: dict[str, Any] | None = None) -> ArtifactNeed:
    return ArtifactNeed(name=name, kind=kind, ref=ref, selector=selector, locality=None)


READINGS = need("readings", ref="u1/glucose")
BASE = need("base", "model", selector=SELECTOR)


def counter(registry: ArtifactRegistry, run: Run[Any], name: str) -> int | None:
    try:
        return int(run(registry.store.get(NAMES, f"{NS}/{name}"))["last"])
    except NotFound:
        return None


def test_consumes_resolve_to_registry_versions(registry: ArtifactRegistry, run: Run[Any]) -> None:
    pinned = need("monday", ref="u1/glucose@1")
    found = run(planning.resolve(registry, NS, [READINGS, BASE, pinned], [], {}))
    assert [doc["_id"] for doc in found.docs] == [
        "guest/u1/glucose@2", "guest/glucose-base@2", "guest/u1/glucose@1"]
    assert [(c.name, c.key, c.locality, c.size) for c in found.consumes()] == [
        ("readings", "guest/u1/glucose@2", "local", 3),
        ("base", "guest/glucose-base@2", "cloud", len(b"weights 0.85")),
        ("monday", "guest/u1/glucose@1", "local", 3)]
    assert found.lineage() == {"model": "guest/glucose-base@2",
                               "data": ["guest/u1/glucose@2", "guest/u1/glucose@1"]}
    assert found.sizes() == {"u1/glucose": 3, "base": 12, "glucose-base": 12,
                             "u1/glucose@1": 3}


def test_the_placement_engine_learns_the_sizes(registry: ArtifactRegistry, run: Run[Any]) -> None:
    engine = Engine()
    planning.feed_sizes(engine, run(planning.resolve(registry, NS, [BASE], [], {})))
    assert engine.state.sizes == {"base": 12, "glucose-base": 12}


@pytest.mark.parametrize("consumes, error, words", [
    pytest.param([need("notes", ref="u1/notes")], ArtifactNotFound,
                 "consumed data 'notes': no artifact u1/notes in namespace 'guest'",
                 id="an unknown artifact"),
    pytest.param([need("readings", ref="u1/glucose@9")], ArtifactNotFound,
                 "consumed data 'readings': no version 9 of artifact u1/glucose",
                 id="an unknown version"),
    pytest.param([need("base", "model", selector={**SELECTOR, "metrics": {"accuracy": ">=0.9"}})],
                 NoMatchingVersion, "consumed model 'base': ", id="a selector with no match"),
    pytest.param([need("base", "model", ref="u1/glucose")], InvalidArtifact,
                 "consumed model 'base' resolved to u1/glucose@2, which is a data, not a model",
                 id="a data artifact consumed as a model"),
])
def test_a_consume_that_cannot_be_resolved_is_a_clear_error(
        registry: ArtifactRegistry, run: Run[Any], consumes: list[ArtifactNeed], error: type,
        words: str) -> None:
    out = {"kind": "model", "name": "model", "ref": "u1/model"}
    with pytest.raises(error) as raised:
        run(planning.resolve(registry, NS, [READINGS, *consumes], [out], {}))
    assert words in raised.value.message
    if error is NoMatchingVersion:
        candidates = raised.value.details["candidates"]
        assert {c["artifact"] for c in candidates} == {"glucose-base@2", "glucose-base@1"}
    assert counter(registry, run, "u1/model") is None


def test_produces_are_bound_and_take_the_widest_locality_by_default(
        registry: ArtifactRegistry, run: Run[Any]) -> None:
    produces = [{"kind": "model", "name": "glucose-model", "ref": "{usr}/glucose-model"},
                {"kind": "data", "name": "summary", "ref": "{usr}/summary",
                 "locality": "local"}]
    found = run(planning.resolve(registry, NS, [READINGS, BASE], produces, {"usr": "u1"}))
    assert [(o.name, o.artifact, o.locality) for o in found.outputs] == [
        ("glucose-model", "u1/glucose-model", "local"), ("summary", "u1/summary", "local")]
    assert counter(registry, run, "u1/glucose-model") is None  # resolving allocates nothing
    first = run(planning.allocate(registry, NS, found))
    second = run(planning.allocate(registry, NS, found))
    assert [p.ref for p in first] == ["guest/u1/glucose-model@1", "guest/u1/summary@1"]
    assert [p.ref for p in second] == ["guest/u1/glucose-model@2", "guest/u1/summary@2"]
    assert [(p.name, p.kind, p.locality) for p in first] == [
        ("glucose-model", "model", "local"), ("summary", "data", "local")]


@pytest.mark.parametrize("consumes, produce, error, words", [
    pytest.param([READINGS], {"locality": "cloud"}, LocalityRefused,
                 "artifact u1/glucose@2 is local to its device; only its metadata leaves it: "
                 "an output may not be wider than its inputs, so u1/out may not be cloud",
                 id="a produce wider than a local input"),
    pytest.param([need("line", ref="line/vibration")], {"locality": "network:office"},
                 LocalityRefused, "so u1/out may not be network:office (at most network:plant)",
                 id="a produce into another network"),
    pytest.param([], {"ref": "{usr}/out@2"}, InvalidArtifact,
                 "produced data 'out': name: 'u1/out@2' is not a valid artifact name",
                 id="a produce ref that names a version"),
    pytest.param([], {"ref": "glucose-base"}, InvalidArtifact,
                 "produced data 'out': artifact glucose-base is a model; a new version "
                 "cannot be a data", id="a produce of another kind than the name's"),
])
def test_a_produce_that_may_not_be_is_refused_before_anything_changes(
        registry: ArtifactRegistry, run: Run[Any], consumes: list[ArtifactNeed],
        produce: dict[str, Any], error: type, words: str) -> None:
    entry = {"kind": "data", "name": "out", "ref": "{usr}/out", **produce}
    before = counter(registry, run, "glucose-base")
    with pytest.raises(error) as raised:
        run(planning.resolve(registry, NS, consumes, [entry], {"usr": "u1"}))
    assert words in raised.value.message
    assert counter(registry, run, "u1/out") is None
    assert counter(registry, run, "glucose-base") == before
