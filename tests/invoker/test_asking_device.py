"""A device's own invoke runs on it when its policy allows: a REAL controller and two REAL
agents (tablet-1, tablet-2), each with its local invoke API. A local invoke is forwarded to the
controller with ``X-Edgewhisk-Asking-Device`` naming the device, and placement prefers it (the
``AskingDevice`` score) -- a preference, never a constraint: an action whose policy excludes
the asker still runs elsewhere, and a header naming no device, or no invoker id at all, is
ignored."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from controller.api.harness import Controller, create_action, started, wskprops_env
from edgewhisk_client import LocalClient
from edgewhisk_devkit import tunnel_url

from .harness import AgentProcess, edgewhisk
from .test_with_controller import cli, invoker_of

TABLETS = ("tablet-1", "tablet-2")
CLASSIFY = "def main(args):\n    return {'label': 'ok'}\n"


def policy(node: str) -> list[dict[str, Any]]:
    return [{"key": "edgewhisk", "value": {
        "version": 1, "policies": [{"type": "fn", "node": node, "strict": True}]}}]


@pytest.fixture
def controller(tmp_path: Path) -> Iterator[Controller]:
    yield from started(tmp_path / "data", "--heartbeat-timeout", "30")


@pytest.fixture
def tablets(tmp_path: Path, controller: Controller) -> Iterator[dict[str, LocalClient]]:
    """Both tablets registered, each one's local API client by its id."""
    env = wskprops_env(controller, tmp_path)
    agents: list[AgentProcess] = []
    try:
        for tablet in TABLETS:
            token = cli(env, "create", "--id", tablet).stdout.strip()
            folder = tmp_path / tablet
            folder.mkdir()
            agents.append(AgentProcess(
                folder, tunnel_url(controller.api_host), token, "--id", tablet,
                "--backoff-cap", "1", "--no-battery", "--offline-dir", str(folder / "offline"),
                "--local-api", str(folder / "local.sock"), "--api-key", controller.auth))
            agents[-1].start()
        for agent in agents:
            agent.wait_registered()
        yield {tablet: LocalClient((tmp_path / tablet / "offline" / "local.key").read_text()
                                   .strip(), socket_path=str(tmp_path / tablet / "local.sock"))
               for tablet in TABLETS}
    finally:
        for agent in agents:
            agent.stop(signal.SIGKILL)


def test_each_tablets_invoke_runs_on_it_where_the_policy_allows(
        controller: Controller, tablets: dict[str, LocalClient], tmp_path: Path) -> None:
    with controller.client() as api:
        create_action(api, "classify", CLASSIFY, annotations=policy("edge"))
        create_action(api, "on-one", CLASSIFY, annotations=policy("tablet-1"))
    for _ in range(3):  # warm on both, alternating: each asker wins every time
        for tablet, local in tablets.items():
            answer = local.invoke("classify", {})
            assert answer.status == 200, answer.body
            assert invoker_of(answer.body) == tablet
            why = next(a["value"] for a in answer.body["annotations"]
                       if a["key"] == "placement")
            assert "AskingDevice" in [term["plugin"] for term in why["terms"]]
    explained = subprocess.run(  # as a user asks: the explanation names the preference
        edgewhisk("activation", "explain", answer.activation_id), capture_output=True,
        text=True, timeout=60, env=wskprops_env(controller, tmp_path), check=False)
    assert explained.returncode == 0, explained.stderr
    assert f"ran on {tablet}" in explained.stdout and "  AskingDevice: 150 against 0" in \
        explained.stdout
    answer = tablets["tablet-2"].invoke("on-one", {})   # the policy excludes the asker
    assert answer.status == 200, answer.body
    assert invoker_of(answer.body) == "tablet-1"


@pytest.mark.parametrize("value", ["tablet-9", "../tablet-2", "tablet 2", "x" * 65, ""],
                         ids=["unknown", "a path", "a space", "too long", "empty"])
def test_a_header_naming_no_device_is_ignored(
        controller: Controller, tablets: dict[str, LocalClient], value: str) -> None:
    with controller.client() as api:
        create_action(api, "classify", CLASSIFY, annotations=policy("edge"))
        answer = api.request("POST", "actions/classify", params={"blocking": "true"},
                             json={}, headers={"X-Edgewhisk-Asking-Device": value})
    assert answer.status_code == 200, answer.text
    record = answer.json()
    assert invoker_of(record) in TABLETS
    why = next(a["value"] for a in record["annotations"] if a["key"] == "placement")
    assert "AskingDevice" not in [term["plugin"] for term in why["terms"]]
