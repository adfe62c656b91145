"""A Composer conductor action, generated as `deploy` generates it, runs step by step.

The composition is compiled by openwhisk-composer's own `compose` CLI; the conductor action is
what `deploy NAME flow.json` would create (deploy_action.js repeats deploy's steps and prints
the actions instead of sending them). Then the controller's side of the conductor protocol
(docs/openwhisk-contract.md, section 5) is played by hand: each step's result names the next action
with its params and state; that action's result merged with the state (state wins) is the
next step's input, until the conductor answers `{"params"}` (or `{"error"}`).

`make test` installs the npm packages into .services before pytest runs.
"""

from __future__ import annotations

from typing import Any

import pytest

from .. import client
from .conftest import SERVICES, NodeProxy, ProxyFactory


@pytest.fixture
def proxy(node_proxy: ProxyFactory, conductor: dict[str, Any]) -> NodeProxy:
    """A proxy initialized with the conductor, NODE_PATH as the container pool sets it."""
    started = node_proxy({"NODE_PATH": str(SERVICES)})
    value = {"name": conductor["name"], "main": "main", "code": conductor["action"]["exec"]["code"]}
    assert client.init(started.url, value) == (200, {"ok": True}), started.stderr()
    return started


def _step(url: str, params: dict[str, Any], activation: str) -> dict[str, Any]:
    status, body = client.run(url, params, activation_id=activation, namespace="guest",
                              action_name="/guest/flow")
    assert status == 200, body
    return body


def _then(result: dict[str, Any], step: dict[str, Any]) -> dict[str, Any]:
    """The next conductor input: the component's result merged with the state (state wins)."""
    return {**result, **step["state"]}


def test_deploy_creates_a_nodejs_conductor_action(conductor: dict[str, Any]) -> None:
    action = conductor["action"]
    annotations = {a["key"]: a["value"] for a in action["annotations"]}
    assert conductor["name"] == "/_/flow"
    assert action["exec"]["kind"] == "nodejs:default"
    assert annotations["conductor"]["type"] == "sequence"
    assert annotations["provide-api-key"] is True
    assert annotations["composerVersion"] == annotations["conductorVersion"] == "0.12.0"
    assert conductor["js"].strip() == action["exec"]["code"].strip(), \
        "`compose --js` and `deploy` must generate the same conductor code"


def test_the_first_step_names_the_first_action(proxy: NodeProxy) -> None:
    step = _step(proxy.url, {"n": 1}, "activation-1")
    assert step["method"] == "action"
    assert step["action"] == "/_/first"
    assert step["params"] == {"n": 1}
    assert step["state"]["$composer"]["session"] == "activation-1"
    assert client.sentinels(proxy.stdout()) == 1


def test_each_step_runs_the_inline_function_and_names_the_next_action(proxy: NodeProxy) -> None:
    first = _step(proxy.url, {"n": 1}, "activation-1")
    second = _step(proxy.url, _then({"n": 42}, first), "activation-2")
    assert second["action"] == "/_/big"
    assert second["params"] == {"n": 420, "hostname": "function"}
    assert second["state"]["$composer"]["session"] == "activation-1"
    third = _step(proxy.url, _then({"n": 7}, first), "activation-3")
    assert third["action"] == "/_/small"
    final = _step(proxy.url, _then({"done": True}, second), "activation-4")
    assert final == {"params": {"done": True}}


def test_an_error_result_ends_the_composition(proxy: NodeProxy) -> None:
    first = _step(proxy.url, {"n": 1}, "activation-1")
    assert _step(proxy.url, _then({"error": "boom", "n": 2}, first), "a-2") == {"error": "boom"}


def test_a_corrupt_state_is_the_conductors_internal_error(proxy: NodeProxy) -> None:
    step = _step(proxy.url, {"$composer": {"state": "nowhere"}}, "activation-1")
    assert step == {"error": "Internal error: state parameter is not a number"}
