"""CompiledAction.bind and bind_users: variables bound from parameters, one user per fan-out."""

from __future__ import annotations

from typing import Any

import pytest
from edgewhisk_controller.placement import constraints as c
from edgewhisk_controller.placement.constraints import Constraint
from edgewhisk_controller.preprocess import (
    BoundAction,
    CompiledAction,
    UnboundVariable,
    bind,
    bind_users,
    compile_action,
    unbound,
)

ANNOTATION = {
    "version": 1,
    "consumes": [{"kind": "model", "name": "base", "selector": {"type": "classifier"}},
                 {"kind": "data", "name": "readings", "ref": "{usr}/{region}/glucose",
                  "locality": "local"}],
    "policies": [{"type": "fn", "node": "{usr}_device", "strict": True},
                 {"type": "data", "network": ["{region}_net", "shared"], "strict": True}],
}


def compiled(annotation: dict[str, Any] = ANNOTATION) -> CompiledAction:
    return compile_action({
        "namespace": "guest", "name": "refine", "version": "0.0.1",
        "exec": {"kind": "python:3", "code": "def main(a): return a"},
        "annotations": [{"key": "edgewhisk", "value": annotation}]})


def args_of(bound: BoundAction, plugin: str, hard: bool = True) -> c.Args:
    return next(k.args for k in bound.constraints if k.plugin == plugin and k.hard == hard)


def test_every_variable_is_bound_in_constraints_and_artifact_refs() -> None:
    bound = bind(compiled(), {"usr": "u1", "region": "eu", "other": 3}, site="lab")
    assert args_of(bound, c.NODE_SELECTOR) == c.NodeSelectorArgs("u1_device")
    assert args_of(bound, c.NETWORK_MEMBERSHIP) == c.NetworkMembershipArgs(("eu_net", "shared"))
    assert args_of(bound, c.ARTIFACT_LOCALITY) == c.ArtifactLocalityArgs(("u1/eu/glucose",))
    assert args_of(bound, c.ARTIFACT_LOCALITY, hard=False) == c.ArtifactLocalityArgs(
        ("base", "u1/eu/glucose"))
    assert args_of(bound, c.PROXIMITY, hard=False) == c.ProximityArgs("lab")
    assert [a.ref for a in bound.artifacts] == [None, "u1/eu/glucose"]
    assert bound.values == {"usr": "u1", "region": "eu"}
    assert not any("{usr}" in str(k.args) or "{region}" in str(k.args)
                   for k in bound.constraints)


def test_the_compiled_action_keeps_its_variables_after_binding() -> None:
    action = compiled()
    bind(action, {"usr": "u1", "region": "eu"})
    assert Constraint(c.NodeSelectorArgs(node="{usr}_device"), True) in action.constraints


def test_constraints_without_variables_are_shared_not_copied() -> None:
    action = compiled()
    bound = bind(action, {"usr": "u1", "region": "eu"})
    health = next(k for k in action.constraints if k.plugin == c.HEALTH)
    assert any(k is health for k in bound.constraints)


KEYS = [
    pytest.param({"usr": "u1", "region": "eu"}, {"usr": "u2", "region": "eu"}, None, None, False,
                 id="a different user is a different key"),
    pytest.param({"usr": "u1", "region": "eu"}, {"usr": "u1", "region": "eu", "x": 1}, None, None,
                 True, id="parameters that are not variables do not change the key"),
    pytest.param({"usr": "u1", "region": "eu"}, {"usr": "u1", "region": "eu"}, "a", "b", False,
                 id="a different caller site is a different key"),
    pytest.param({"usr": 7, "region": "eu"}, {"usr": "7", "region": "eu"}, None, None, True,
                 id="an integer binds like its text"),
]


@pytest.mark.parametrize(("one", "two", "site1", "site2", "same"), KEYS)
def test_the_bound_key_includes_the_binding_and_the_site(
        one: dict[str, Any], two: dict[str, Any], site1: str | None, site2: str | None,
        same: bool) -> None:
    action = compiled()
    assert (bind(action, one, site=site1).key == bind(action, two, site=site2).key) is same


ERRORS = [
    pytest.param({"usr": "u1"}, "region", "pass 'region' as a parameter",
                 id="a missing variable is named, with the fan-out hint"),
    pytest.param({"region": "eu"}, "usr", "pass 'usr' as a parameter",
                 id="a missing usr is named when binding one activation"),
    pytest.param({"usr": "../etc", "region": "eu"}, "usr", "no '/'",
                 id="a value that is not one path segment is refused"),
    pytest.param({"usr": ["u1"], "region": "eu"}, "usr", "not list",
                 id="a value that is neither string nor integer is refused"),
]


@pytest.mark.parametrize(("params", "variable", "message"), ERRORS)
def test_a_variable_that_cannot_be_bound_is_a_400_naming_it(
        params: dict[str, Any], variable: str, message: str) -> None:
    with pytest.raises(UnboundVariable) as caught:
        bind(compiled(), params)
    assert caught.value.status == 400
    assert caught.value.variable == variable
    assert "{" + variable + "}" in caught.value.message and message in caught.value.message


def test_unbound_lists_the_variables_params_leave_open() -> None:
    assert unbound(compiled(), {"region": "eu"}) == {"usr"}
    assert unbound(compiled(), {"usr": "u", "region": "eu"}) == frozenset()


def test_an_action_without_variables_binds_to_itself() -> None:
    action = compiled({"version": 1})
    bound = bind(action, {"anything": 1})
    assert bound.constraints == action.constraints and bound.binding == ()


def test_bind_users_binds_like_bind_for_each_user() -> None:
    action = compiled()
    users = ["u1", "u2", "bad/user", "u3"]
    bounds, invalid = bind_users(action, {"region": "eu"}, users, site="lab")
    assert [b.values["usr"] for b in bounds] == ["u1", "u2", "u3"]
    assert list(invalid) == ["bad/user"] and "no '/'" in invalid["bad/user"]
    for b in bounds:
        single = bind(action, {"usr": b.values["usr"], "region": "eu"}, site="lab")
        assert (b.key, b.constraints, b.artifacts) == (single.key, single.constraints,
                                                      single.artifacts)


def test_bind_users_still_needs_the_other_variables() -> None:
    with pytest.raises(UnboundVariable) as caught:
        bind_users(compiled(), {}, ["u1"])
    assert caught.value.variable == "region"
