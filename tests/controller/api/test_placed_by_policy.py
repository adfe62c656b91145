"""Packaged actions and sequence components are placed by their own ``edgewhisk`` policies,
on a real edge agent (``edgewhisk invoker`` through the devkit, on the controller's tunnel)
and on the controller's local invoker.

OpenWhisk's behaviour kept here: an action in a package is invoked through a binding with the
package's parameters (apache/openwhisk:docs/packages.md), and a sequence runs each component
as an activation of its own (``SequenceActions.invokeNextAction``), so each is placed as any
activation: edgewhisk's placement reads each component's own annotation.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from edgewhisk_devkit import AgentSpec, Fleet

from .harness import Controller, create_action

WHERE = "def main(args):\n    return {'hops': args.get('hops', []) + [args.get('step')]}\n"
DEVICE = AgentSpec("u1-phone", ("--owner", "u1", "--memory", "1024", "--no-battery"))


def _on(node: str) -> list[dict[str, Any]]:
    return [{"key": "edgewhisk", "value": {
        "version": 1, "policies": [{"type": "fn", "node": node, "strict": True}]}}]


def _annotation(record: dict[str, Any], key: str) -> Any:
    return next((a["value"] for a in record["annotations"] if a["key"] == key), None)


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Controller]:
    """A controller with one local invoker (``local0``) and u1's device on its tunnel."""
    root = tmp_path_factory.mktemp("edge")
    with Controller(root / "data", "--invokers", "1").start() as controller, \
            controller.client() as client, Fleet(client, [DEVICE], root):
        yield controller


def test_a_packaged_annotated_action_runs_on_the_edge_invoker_its_policy_names(
        edge: Controller) -> None:
    with edge.client() as guest:
        guest.request("PUT", "packages/sensors",
                      json={"parameters": [{"key": "step", "value": "package"}]})
        create_action(guest, "sensors/read", WHERE, annotations=_on("u1_device"))
        guest.request("PUT", "packages/my-sensors", json={
            "binding": {"namespace": "_", "name": "sensors"},
            "parameters": [{"key": "step", "value": "binding"}]})
        response = guest.request("POST", "actions/my-sensors/read?blocking=true", json={})
    assert response.status_code == 200, response.text
    record = response.json()
    assert _annotation(record, "invoker") == "u1-phone"
    assert _annotation(record, "path") == "guest/sensors/read"
    assert _annotation(record, "binding") == "guest/my-sensors"
    assert isinstance(_annotation(record, "initTime"), int)  # a cold start on the device
    assert record["response"]["result"] == {"hops": ["binding"]}


def test_a_sequence_s_two_steps_land_on_different_invokers(edge: Controller) -> None:
    with edge.client() as guest:
        guest.request("PUT", "packages/steps", json={})
        create_action(guest, "steps/on-device", WHERE, annotations=_on("u1_device"),
                      parameters=[{"key": "step", "value": "device"}])
        create_action(guest, "in-cloud", WHERE, annotations=_on("local0"),
                      parameters=[{"key": "step", "value": "cloud"}])
        stored = guest.request("PUT", "actions/device-then-cloud", json={"exec": {
            "kind": "sequence", "components": ["/_/steps/on-device", "/_/in-cloud"]}})
        assert stored.status_code == 200, stored.text
        response = guest.request("POST", "actions/device-then-cloud?blocking=true", json={})
        assert response.status_code == 200, response.text
        record = response.json()
        components = [guest.activations.get(i) for i in record["logs"]]
    assert [c["name"] for c in components] == ["on-device", "in-cloud"]
    assert [_annotation(c, "invoker") for c in components] == ["u1-phone", "local0"]
    assert record["response"]["result"]["hops"] == ["device", "cloud"]
    assert all(c["cause"] == record["activationId"] for c in components)


def test_a_component_that_cannot_be_placed_ends_the_sequence(edge: Controller) -> None:
    """No invoker matches the second step: its record is a whisk internal error naming the
    constraint, and the sequence ends with it."""
    with edge.client() as guest:
        create_action(guest, "first-step", WHERE, annotations=_on("local0"))
        create_action(guest, "nowhere", WHERE, annotations=_on("u9_device"))
        guest.request("PUT", "actions/then-nowhere", json={"exec": {
            "kind": "sequence", "components": ["/_/first-step", "/_/nowhere"]}})
        record = guest.request("POST", "actions/then-nowhere?blocking=true", json={}).json()
    assert record["response"]["status"] == "whisk internal error"
    assert "not matching node u9_device" in record["response"]["result"]["error"]
    assert len(record["logs"]) == 2
