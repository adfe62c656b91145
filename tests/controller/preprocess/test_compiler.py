"""compile_action: the mapping table (compiler.py's docstring), row by row, and the cache."""

from __future__ import annotations

from typing import Any

import edgewhisk
import pytest
from edgewhisk_controller.placement import constraints as c
from edgewhisk_controller.placement.config import DEFAULT_WEIGHTS
from edgewhisk_controller.placement.constraints import Constraint
from edgewhisk_controller.preprocess import Compiler, Weights
from edgewhisk_controller.schema import action as action_schema

KEY = "guest/act@0.0.2"
ALWAYS = [
    Constraint(c.HealthArgs(), True),
    Constraint(c.NamespaceAccessArgs(namespace="guest"), True),
    Constraint(c.ResourcesFitArgs(memory_mb=256), True),
    Constraint(c.RuntimeKindArgs(kind="python:3"), True),
    Constraint(c.BalancedLoadArgs(), False),
    Constraint(c.WarmContainerArgs(action=KEY), False),
    Constraint(c.ProximityArgs(site=None), False),
]
UNIT = Compiler(Weights({}))  # every soft weight 1.0, so the table compares plainly
compile_action = UNIT.compile


def action(annotation: dict[str, Any] | None = None, *, kind: str = "python:3",
           image: str | None = None, version: str = "0.0.2", memory: int = 256) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "namespace": "guest", "name": "act", "version": version,
        "exec": {"kind": kind, "code": "def main(a): return a", **({"image": image} if image
                                                                   else {})},
        "limits": {"memory": memory}, "annotations": [],
    }
    if annotation is not None:
        doc["annotations"].append({"key": "edgewhisk", "value": {"version": 1, **annotation}})
    return doc


def added(annotation: dict[str, Any], **kw: Any) -> list[Constraint]:
    """The constraints beyond the always-row (Proximity to the caller included), in order."""
    got = list(compile_action(action(annotation, **kw)).constraints)
    assert got[: len(ALWAYS)] == ALWAYS
    return got[len(ALWAYS):]


ROWS = [
    pytest.param({}, [], id="an action without policies or artifacts gets only the always-row"),
    pytest.param({"policies": [{"type": "fn", "node": "{usr}_device", "strict": True}],
                  "consumes": [{"kind": "data", "ref": "{usr}/x"}]},
                 [Constraint(c.NodeSelectorArgs(node="{usr}_device"), True),
                  Constraint(c.ArtifactLocalityArgs(artifacts=("{usr}/x",)), False)],
                 id="a strict node policy is a hard NodeSelector that keeps its variable"),
    pytest.param({"policies": [{"type": "fn", "node": "edge", "strict": False}]},
                 [Constraint(c.NodeSelectorArgs(node="edge"), False)],
                 id="a non-strict node policy is a soft NodeSelector"),
    pytest.param({"policies": [{"type": "fn", "capability": ["gpu", "tpu"], "strict": True}]},
                 [Constraint(c.CapabilityArgs(capabilities=("gpu", "tpu")), True)],
                 id="a strict capability policy is a hard Capability needing every listed one"),
    pytest.param({"policies": [{"type": "fn", "capability": "gpu"}]},
                 [Constraint(c.CapabilityArgs(capabilities=("gpu",)), False)],
                 id="a capability policy without strict is a soft Capability"),
    pytest.param({"policies": [{"type": "fn", "node": "cloud", "capability": "gpu",
                                "strict": True}]},
                 [Constraint(c.NodeSelectorArgs(node="cloud"), True),
                  Constraint(c.CapabilityArgs(capabilities=("gpu",)), True)],
                 id="a fn policy with node and capability gives both constraints"),
    pytest.param({"policies": [{"type": "data", "network": ["company"], "strict": True}]},
                 [Constraint(c.NetworkMembershipArgs(networks=("company",)), True)],
                 id="a strict data policy is a hard NetworkMembership"),
    pytest.param({"policies": [{"type": "data", "network": "company"}]},
                 [Constraint(c.NetworkMembershipArgs(networks=("company",)), False)],
                 id="a non-strict data policy is a soft NetworkMembership"),
    pytest.param({"consumes": [{"kind": "data", "ref": "{usr}/glucose", "locality": "local"},
                               {"kind": "data", "ref": "shared/table", "locality": "cloud"}]},
                 [Constraint(c.ArtifactLocalityArgs(artifacts=("{usr}/glucose",)), True),
                  Constraint(c.ArtifactLocalityArgs(artifacts=("{usr}/glucose", "shared/table")),
                             False)],
                 id="a local artifact must be held; every consumed artifact scores transfer"),
    pytest.param({"consumes": [{"kind": "model", "name": "base",
                                "selector": {"type": "classifier"}}]},
                 [Constraint(c.ArtifactLocalityArgs(artifacts=("base",)), False),
                  Constraint(c.CachedArtifactArgs(artifacts=("base",)), False)],
                 id="a consumed model also earns the cached-artifact bonus, keyed by its name"),
    pytest.param({"policies": [{"type": "deadline", "within": "2s"}]},
                 [Constraint(c.DeadlineFeasibilityArgs(within_s=2.0, action=KEY, artifacts=()),
                             False)],
                 id="a deadline is soft slack"),
    pytest.param({"policies": [{"type": "deadline", "within": "500ms", "strict": True}]},
                 [Constraint(c.DeadlineFeasibilityArgs(within_s=0.5, action=KEY, artifacts=()),
                             True)],
                 id="a strict deadline is a hard DeadlineFeasibility"),
    pytest.param({"produces": [{"kind": "model", "ref": "{usr}/m", "locality": "local"}]},
                 [], id="produced artifacts place nothing"),
]


@pytest.mark.parametrize(("annotation", "expected"), ROWS)
def test_each_row_of_the_mapping_table(annotation: dict[str, Any],
                                       expected: list[Constraint]) -> None:
    assert added(annotation) == expected


def test_the_always_row_follows_the_action_limits_and_kind() -> None:
    got = compile_action(action(None, kind="nodejs:default", memory=512)).constraints
    assert Constraint(c.ResourcesFitArgs(memory_mb=512), True) in got
    assert Constraint(c.RuntimeKindArgs(kind="nodejs:default"), True) in got


def test_a_blackbox_image_earns_the_cached_artifact_bonus() -> None:
    image = "localhost/edgewhisk/python3-ai:latest"
    got = compile_action(action({}, kind="blackbox", image=image)).constraints
    assert got[-1] == Constraint(c.CachedArtifactArgs(artifacts=(image,)), False)


def test_the_design_example_compiles_with_its_variables_and_artifacts() -> None:
    compiled = compile_action(action({
        "consumes": [{"kind": "model", "name": "base", "selector": {"type": "classifier"}},
                     {"kind": "data", "name": "readings", "ref": "{usr}/glucose",
                      "locality": "local"}],
        "produces": [{"kind": "model", "ref": "{usr}/glucose-model", "locality": "local"}],
        "policies": [{"type": "deadline", "within": "2s"},
                     {"type": "fn", "node": "{usr}_device", "capability": "gpu",
                      "strict": False},
                     {"type": "data", "network": ["company_network"], "strict": True}]}))
    assert compiled.key == KEY
    assert compiled.variables == {"usr"}
    assert [(a.name, a.kind, a.ref, a.locality) for a in compiled.artifacts] == [
        ("base", "model", None, None), ("readings", "data", "{usr}/glucose", "local")]
    assert {k.plugin for k in compiled.hard} == {
        c.HEALTH, c.NAMESPACE_ACCESS, c.RESOURCES_FIT, c.RUNTIME_KIND,
        c.NETWORK_MEMBERSHIP, c.ARTIFACT_LOCALITY}


def test_a_deadline_counts_the_transfer_of_every_consumed_artifact() -> None:
    got = added({"consumes": [{"kind": "data", "ref": "{usr}/x", "locality": "local"}],
                 "policies": [{"type": "deadline", "within": "1s", "strict": True}]})
    assert Constraint(c.DeadlineFeasibilityArgs(within_s=1.0, action=KEY,
                                               artifacts=("{usr}/x",)), True) in got


def test_by_default_soft_constraints_weigh_what_the_placement_configuration_says() -> None:
    compiled = Compiler().compile(action({"policies": [
        {"type": "fn", "capability": "gpu"}, {"type": "deadline", "within": "1s"}]}))
    for k in compiled.soft:
        assert k.weight == DEFAULT_WEIGHTS.get(k.plugin, 1.0), k.plugin


def test_a_version_compiles_once_and_a_new_version_compiles_again() -> None:
    compiler = Compiler()
    first = compiler.compile(action({}))
    assert compiler.compile(action({})) is first
    assert compiler.compile(action({}, version="0.0.3")) is not first
    assert len(compiler) == 2


def test_the_cache_forgets_the_least_recently_used_version() -> None:
    compiler = Compiler(cache_size=2)
    one = compiler.compile(action({}, version="0.0.1"))
    compiler.compile(action({}, version="0.0.2"))
    assert compiler.compile(action({}, version="0.0.1")) is one  # now most recent
    compiler.compile(action({}, version="0.0.3"))  # evicts 0.0.2
    assert compiler.compile(action({}, version="0.0.1")) is one
    assert len(compiler) == 2


def test_a_changed_annotation_under_the_same_version_is_not_served_from_cache() -> None:
    compiler = Compiler()
    plain = compiler.compile(action({}))
    strict = compiler.compile(action({"policies": [{"type": "fn", "capability": "gpu",
                                                    "strict": True}]}))
    assert plain is not strict and Constraint(c.CapabilityArgs(capabilities=("gpu",)),
                                              True) in strict.constraints


def test_soft_constraints_carry_their_configured_weight_and_hard_ones_do_not() -> None:
    compiler = Compiler(Weights({c.BALANCED_LOAD: 3.0, c.CAPABILITY: 0.5}))
    compiled = compiler.compile(action({"policies": [
        {"type": "fn", "capability": "gpu", "strict": False},
        {"type": "fn", "node": "edge", "strict": True}]}))
    weights = {(k.plugin, k.hard): k.weight for k in compiled.constraints}
    assert weights[(c.BALANCED_LOAD, False)] == 3.0
    assert weights[(c.CAPABILITY, False)] == 0.5
    assert weights[(c.WARM_CONTAINER, False)] == 1.0  # not configured: the default
    assert weights[(c.NODE_SELECTOR, True)] == 1.0


@pytest.mark.parametrize("weight", [-1, float("inf"), "heavy"],
                         ids=["a negative weight", "an infinite weight", "a string weight"])
def test_a_weight_that_is_not_a_finite_non_negative_number_is_refused(weight: Any) -> None:
    with pytest.raises(ValueError, match="BalancedLoad"):
        Weights({c.BALANCED_LOAD: weight})


def test_an_invalid_stored_annotation_raises_the_sdk_error() -> None:
    with pytest.raises(edgewhisk.AnnotationError, match="policies"):
        compile_action(action({"policies": [{"type": "when"}]}))


def test_hard_capabilities_and_the_stored_invoker_resources_annotation_agree() -> None:
    stored = action_schema.build("guest", "act", {
        "exec": {"kind": "python:3", "code": "def main(a): return a"},
        "annotations": [{"key": "edgewhisk", "value": {"version": 1, "policies": [
            {"type": "fn", "capability": ["gpu", "camera"], "strict": True},
            {"type": "fn", "capability": "npu", "strict": False}]}}]}, None)
    tags = next(a["value"] for a in stored["annotations"] if a["key"] == "invoker-resources")
    compiled = compile_action({**stored, "namespace": "guest"})
    hard = [cap for k in compiled.hard if isinstance(k.args, c.CapabilityArgs)
            for cap in k.args.capabilities]
    assert hard == tags == ["gpu", "camera"]
    soft = [k.args.capabilities for k in compiled.soft if isinstance(k.args, c.CapabilityArgs)]
    assert soft == [("npu",)]


def test_a_binding_of_a_stored_revision_compiles_to_its_own_constraints() -> None:
    """An action bound for one user keeps its stored ``_id`` and ``_rev`` while its annotation
    changes: a cache keyed by the revision alone gave every user the first one's constraints
    (a map over users placed u2's refine by u1's artifacts)."""
    gpu = {"policies": [{"type": "fn", "capability": "gpu", "strict": True}]}
    stored = {**action({}), "_id": "guest/act", "_rev": "1-aa"}
    compiler = Compiler()
    first = compiler.compile(stored)
    assert compiler.compile(dict(stored)) is first  # the same content: compiled once
    bound = compiler.compile({**action(gpu), "_id": "guest/act", "_rev": "1-aa"})
    assert bound is not first and bound.hard != first.hard
    assert Compiler(Weights({})).compile(stored) is not first  # other weights, other cache
