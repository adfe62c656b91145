"""An edge agent's actions against a real controller: what they see, and the agent's lifeline.

The agent runs with a secret in its environment; an action placed on it reports its own. Then
the agent is SIGKILLed while an action sleeps in it: every process it had started (the
sandbox, the proxy, the action) must be gone within seconds, so an activation the controller
reports lost is not still running.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from controller.api.harness import Controller, create_action, started, wskprops_env
from edgewhisk_runtime.environment import is_allowed

from .harness import AgentProcess, alive, descendants
from .test_with_controller import DEVICE, ON_DEVICE, cli

SECRET = "AWS_SECRET_ACCESS_KEY"
ENV = "import os\ndef main(args):\n    return {'env': dict(os.environ)}\n"
SLEEP = "import time\ndef main(args):\n    time.sleep(120)\n    return {}\n"
GONE_WITHIN_S = 5.0


@pytest.fixture
def controller(tmp_path: Path) -> Iterator[Controller]:
    yield from started(tmp_path / "data", "--heartbeat-timeout", "30")


@pytest.fixture(params=[(), ("--no-sandbox",)], ids=["sandboxed", "unsandboxed"])
def agent(controller: Controller, tmp_path: Path,
          request: pytest.FixtureRequest) -> Iterator[AgentProcess]:
    """An agent with its actions in bubblewrap, and one without (its lifeline is then the
    proxy's PR_SET_PDEATHSIG and the action killed before the proxy stops)."""
    token = cli(wskprops_env(controller, tmp_path), "create", "--id", DEVICE).stdout.strip()
    process = AgentProcess(tmp_path, controller.api_host.replace("http", "ws"), token,
                           "--id", DEVICE, "--memory", "4096", "--no-battery",
                           "--store", str(tmp_path / "store"), *request.param,
                           env={SECRET: "the device's secret"}).start()
    process.wait_registered()
    yield process
    process.stop(signal.SIGKILL)


def test_an_action_on_the_agent_sees_only_the_allow_listed_environment(
        controller: Controller, agent: AgentProcess) -> None:
    with controller.client() as api:
        create_action(api, "env", ENV, annotations=ON_DEVICE)
        answer = api.request("POST", "actions/env?blocking=true", json={})
        record = api.activations.wait(answer.json()["activationId"])
    env = record["response"]["result"]["env"]
    assert SECRET not in env
    assert [key for key in env if not is_allowed(key)] == []


def test_a_killed_agent_takes_its_running_actions_with_it(
        controller: Controller, agent: AgentProcess) -> None:
    with controller.client() as api:
        create_action(api, "sleep", SLEEP, annotations=ON_DEVICE)
        api.request("POST", "actions/sleep", json={})
        tree = _wait_for_action(agent)
        agent.stop(signal.SIGKILL)
    deadline = time.monotonic() + GONE_WITHIN_S
    while [pid for pid in tree if alive(pid)] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [pid for pid in tree if alive(pid)] == []


def _wait_for_action(agent: AgentProcess, timeout_s: float = 60.0) -> list[int]:
    """The agent's descendants once the action process runs (the proxy's child)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        tree = descendants(agent.pid)
        if any(_is_launcher(pid) for pid in tree):
            return tree
        time.sleep(0.1)
    raise AssertionError(f"no action process under the agent: {agent.log()}")


def _is_launcher(pid: int) -> bool:
    try:
        return b"edgewhisk_runtime.launcher" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
