"""fan_out: one child per user on record whose device satisfies the hard constraints."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from edgewhisk_controller.placement import constraints as c
from edgewhisk_controller.placement.interface import Decision, Unschedulable
from edgewhisk_controller.preprocess import BoundAction, UnboundVariable, compile_action
from edgewhisk_controller.preprocess.expand import fan_out

DEVICES = {"u1_device": "inv-1", "u2_device": "inv-2", "u4_device": "inv-4"}


def place_on_own_device(bounds: Sequence[BoundAction]) -> list[Decision]:
    """A small placement: the hard NodeSelector names the one invoker that may run it."""
    out: list[Decision] = []
    for bound in bounds:
        node = next(k.args.node for k in bound.hard if isinstance(k.args, c.NodeSelectorArgs))
        out.append(DEVICES.get(node) or Unschedulable(
            len(DEVICES), {"not matching node": len(DEVICES)}, {"not matching node": node}))
    return out


def compiled(extra_ref: str = "") -> Any:
    consumes = [{"kind": "data", "name": "readings", "ref": "{usr}/glucose" + extra_ref}]
    return compile_action({
        "namespace": "guest", "name": "refine", "version": "0.0.1",
        "exec": {"kind": "python:3", "code": "def main(a): return a"},
        "annotations": [{"key": "edgewhisk", "value": {
            "version": 1, "consumes": consumes,
            "policies": [{"type": "fn", "node": "{usr}_device", "strict": True}]}}]})


def test_each_user_with_a_feasible_device_gets_a_child_on_it() -> None:
    result = fan_out(compiled(), {}, ["u1", "u2", "u3", "u4"], place_on_own_device, site="lab")
    assert [(ch.user, ch.invoker) for ch in result.children] == [
        ("u1", "inv-1"), ("u2", "inv-2"), ("u4", "inv-4")]
    assert list(result.excluded) == ["u3"]
    assert result.excluded["u3"] == (
        "0/3 invokers are available: 3 not matching node u3_device.")
    assert result.users == 4 and result.reason == ""
    refs = [ch.bound.artifacts[0].ref for ch in result.children]
    assert refs == ["u1/glucose", "u2/glucose", "u4/glucose"]
    assert all(ch.bound.site == "lab" for ch in result.children)


def test_the_summary_names_every_child_activation_and_the_excluded_users() -> None:
    result = fan_out(compiled(), {}, ["u1", "u3"], place_on_own_device)
    assert result.summary(["a1"]) == {
        "users": 2,
        "activations": [{"user": "u1", "activationId": "a1", "invoker": "inv-1"}],
        "excluded": {"count": 1, "users": {"u3": result.excluded["u3"]}},
    }


CASES = [
    pytest.param([], 0, "no user on record", id="no users on record: nothing to run, says why"),
    pytest.param(["u3", "u5"], 2, "none of the 2 users on record",
                 id="no user with a feasible device: nothing to run, says why"),
]


@pytest.mark.parametrize(("users", "count", "reason"), CASES)
def test_a_fan_out_without_children_explains_itself(users: list[str], count: int,
                                                    reason: str) -> None:
    result = fan_out(compiled(), {}, users, place_on_own_device)
    assert result.children == () and result.users == count
    assert reason in result.reason


def test_a_user_name_that_cannot_be_a_ref_segment_is_excluded_not_fatal() -> None:
    result = fan_out(compiled(), {}, ["u1", "../u2"], place_on_own_device)
    assert [ch.user for ch in result.children] == ["u1"]
    assert "no '/'" in result.excluded["../u2"]


def test_duplicate_users_fan_out_once() -> None:
    result = fan_out(compiled(), {}, ["u1", "u1", "u2"], place_on_own_device)
    assert [ch.user for ch in result.children] == ["u1", "u2"] and result.users == 2


def test_other_variables_still_come_from_the_parameters() -> None:
    result = fan_out(compiled("-{day}"), {"day": "mon"}, ["u1"], place_on_own_device)
    assert result.children[0].bound.artifacts[0].ref == "u1/glucose-mon"
    with pytest.raises(UnboundVariable) as caught:
        fan_out(compiled("-{day}"), {}, ["u1"], place_on_own_device)
    assert caught.value.variable == "day"
