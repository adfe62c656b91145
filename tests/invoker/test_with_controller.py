"""The agent against a REAL controller process (tests/controller/api/harness.py): tokens made
with ``edgewhisk invoker token`` (defaults from WSK_CONFIG_FILE), registration, activations
placed on the edge invoker, a link cut mid-activation (a TCP relay the test controls), a
controller restart, and revocation."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from controller.api.harness import Controller, create_action, started, wskprops_env
from edgewhisk_devkit import Relay

from .harness import HELLO, AgentProcess, alive, descendants, edgewhisk
from .test_agent import SLOW, UNSANDBOXED

DEVICE = "pi-1"
# Placement onto the device: strictly by id for the engine; the most free memory for a
# least-loaded placement.
ON_DEVICE = [{"key": "edgewhisk", "value": {
    "version": 1, "policies": [{"type": "fn", "node": DEVICE, "strict": True}]}}]
DEVICE_MEMORY = "1000000"


@pytest.fixture
def controller(tmp_path: Path) -> Iterator[Controller]:
    yield from started(tmp_path / "data", "--heartbeat-timeout", "30")


@pytest.fixture
def wskprops(tmp_path: Path, controller: Controller) -> dict[str, str]:
    """An environment whose WSK_CONFIG_FILE points at this controller (no --apihost/--auth)."""
    return wskprops_env(controller, tmp_path)


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(edgewhisk("invoker", "token", *args), capture_output=True, text=True,
                          timeout=60, env=env)


@pytest.fixture
def agents(tmp_path: Path) -> Iterator[list[AgentProcess]]:
    started: list[AgentProcess] = []
    yield started
    for agent in started:
        agent.stop(signal.SIGKILL)


def start_agent(agents: list[AgentProcess], log_dir: Path, url: str, token: str,
                *flags: str) -> AgentProcess:
    agent = AgentProcess(log_dir, url, token, "--id", DEVICE, "--memory", DEVICE_MEMORY,
                         "--backoff-cap", "1", "--battery-sim", "level=0.9", *flags).start()
    agents.append(agent)
    return agent


def invoker_of(record: dict[str, Any]) -> str:
    return next(a["value"] for a in record["annotations"] if a["key"] == "invoker")


def test_token_commands_default_to_wskprops_and_speak_json(wskprops: dict[str, str]) -> None:
    created = cli(wskprops, "create", "--id", DEVICE)
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith(f"{DEVICE}:") and "\n" not in token
    listed = cli(wskprops, "ls", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [t["id"] for t in json.loads(listed.stdout)] == [DEVICE]
    assert token.split(":")[1] not in listed.stdout   # no secrets in the list
    again = cli(wskprops, "create", "--id", DEVICE, "--json")
    assert again.returncode == 1 and "HTTP 409" in again.stderr
    revoked = cli(wskprops, "revoke", DEVICE, "--json")
    assert revoked.returncode == 0 and json.loads(revoked.stdout)["revoked"] is True
    assert json.loads(cli(wskprops, "ls", "--json").stdout) == []


def test_a_wrong_key_is_a_clear_error(wskprops: dict[str, str]) -> None:
    done = cli(wskprops, "ls", "--auth", "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:wrong")
    assert done.returncode == 1 and "HTTP 401" in done.stderr


def test_an_activation_runs_on_the_edge_invoker(controller: Controller, wskprops: dict[str, str],
                                                agents: list[AgentProcess],
                                                tmp_path: Path) -> None:
    token = cli(wskprops, "create", "--id", DEVICE).stdout.strip()
    agent = start_agent(agents, tmp_path, controller.api_host.replace("http", "ws"), token)
    agent.wait_registered()
    with controller.client() as api:
        create_action(api, "hello", HELLO, annotations=ON_DEVICE)
        answer = api.request("POST", "actions/hello?blocking=true", json={"name": "edge"})
        assert answer.status_code == 200, answer.text
        record = api.activations.wait(answer.json()["activationId"])
    assert record["response"]["result"] == {"greeting": "hello edge"}
    assert invoker_of(record) == DEVICE
    assert any("hello from edge" in line for line in record["logs"])
    children = descendants(agent.pid)
    assert agent.stop(signal.SIGTERM) == 0
    assert [pid for pid in children if alive(pid)] == []


def test_a_result_finished_while_the_link_was_cut_is_recorded_once(
        controller: Controller, wskprops: dict[str, str], agents: list[AgentProcess],
        tmp_path: Path) -> None:
    token = cli(wskprops, "create", "--id", DEVICE).stdout.strip()
    relay = Relay(controller.port).start()
    try:
        agent = start_agent(agents, tmp_path, relay.url, token, UNSANDBOXED)
        agent.wait_registered()
        marker, release = tmp_path / "marker", tmp_path / "release"
        with controller.client() as api:
            create_action(api, "slow", SLOW, annotations=ON_DEVICE)
            answer = api.request("POST", "actions/slow", json={"marker": str(marker),
                                                               "release": str(release), "n": 7})
            assert answer.status_code == 202, answer.text
            activation_id = answer.json()["activationId"]
            _wait_for(lambda: marker.exists(), agent, "the action to start")
            relay.refusing = True
            relay.cut()
            _wait_for(lambda: relay.refused >= 2, agent, "reconnect attempts")
            release.touch()
            relay.refusing = False
            agent.wait_registered(2)
            record = api.activations.wait(activation_id)
            assert record["response"]["success"] is True, record
            assert record["response"]["result"] == {"done": 7}
            assert invoker_of(record) == DEVICE
            listed = api.request("GET", "activations?name=slow").json()
            assert [r["activationId"] for r in listed] == [activation_id]
        assert marker.read_text() == "ran\n"
    finally:
        relay.stop()


def test_the_agent_comes_back_after_the_controller_restarts(
        controller: Controller, wskprops: dict[str, str], agents: list[AgentProcess],
        tmp_path: Path) -> None:
    token = cli(wskprops, "create", "--id", DEVICE).stdout.strip()
    relay = Relay(controller.port).start()
    try:
        agent = start_agent(agents, tmp_path, relay.url, token)
        agent.wait_registered()
        controller.stop()
        controller.start()                 # same data (the token survives), a new port
        relay.target_port = controller.port
        agent.wait_registered(2)
        with controller.client() as api:
            create_action(api, "hello", HELLO, annotations=ON_DEVICE)
            answer = api.request("POST", "actions/hello?blocking=true", json={"name": "again"})
            assert answer.status_code == 200, answer.text
            assert answer.json()["response"]["result"] == {"greeting": "hello again"}
    finally:
        relay.stop()


def test_revoking_the_token_ends_the_agent(controller: Controller, wskprops: dict[str, str],
                                           agents: list[AgentProcess], tmp_path: Path) -> None:
    token = cli(wskprops, "create", "--id", DEVICE).stdout.strip()
    agent = start_agent(agents, tmp_path, controller.api_host.replace("http", "ws"), token)
    agent.wait_registered()
    assert cli(wskprops, "revoke", DEVICE).stdout.strip() == f"revoked {DEVICE}"
    assert agent.wait_exit() == 3
    assert "the device token was revoked" in agent.log()


def test_a_token_for_another_id_is_refused(controller: Controller, wskprops: dict[str, str],
                                           agents: list[AgentProcess], tmp_path: Path) -> None:
    token = cli(wskprops, "create", "--id", "other-device").stdout.strip()
    agent = start_agent(agents, tmp_path, controller.api_host.replace("http", "ws"), token)
    assert agent.wait_exit() == 3
    assert "the token is for 'other-device'" in agent.log()


def _wait_for(condition: Any, agent: AgentProcess, what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}:\n{agent.log()}")
        time.sleep(0.05)

