"""``edgewhisk invoker logs ID [--follow]``: an agent's own log through its tunnel, followed
across the agent's restart (a real reconnect), on a real controller and real agents."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from edgewhisk_client import Client, HttpError
from edgewhisk_devkit import Agent, Controller, edgewhisk_command
from edgewhisk_devkit.agent import tunnel_url

WAIT_S = 30.0
REGISTERED = "registered as dl-1 with"


@pytest.fixture
def controller(tmp_path: Path):  # type: ignore[no-untyped-def]
    with Controller(tmp_path / "data").start() as controller:
        yield controller


def agent(client: Client, token: str, log: Path) -> Agent:
    return Agent(tunnel_url(client.api_host), token, "--no-battery", id="dl-1", log=log,
                 own_group=True).start()


def read_until(follower: subprocess.Popen[str], text: str, seen: list[str]) -> None:
    """Lines of ``follower`` into ``seen`` until one contains ``text``."""
    deadline = time.monotonic() + WAIT_S
    assert follower.stdout is not None
    while time.monotonic() < deadline:
        line = follower.stdout.readline()
        assert line, f"the follower ended early: {seen}"
        seen.append(line.rstrip("\n"))
        if text in line:
            return
    pytest.fail(f"no {text!r} within {WAIT_S} s: {seen}")


def test_a_follower_sees_each_line_once_across_the_agents_restart(
        controller: Controller, tmp_path: Path) -> None:
    with controller.client() as client:
        token = str(client.tokens.create("dl-1")["token"])
        first = agent(client, token, tmp_path / "first.log")
        second = None
        try:
            first.wait_registered()
            props = tmp_path / "wskprops"
            props.write_text(f"APIHOST={controller.api_host}\nAUTH={controller.auth}\n")
            follower = subprocess.Popen(
                edgewhisk_command("invoker", "logs", "dl-1", "--follow"), text=True,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                env={**os.environ, "WSK_CONFIG_FILE": str(props)})
            seen: list[str] = []
            try:
                read_until(follower, REGISTERED, seen)
                first.child.terminate()
                first.child.wait_stopped()
                second = agent(client, token, tmp_path / "second.log")
                second.wait_registered()
                read_until(follower, REGISTERED, seen)
            finally:
                follower.terminate()
                follower.wait(timeout=10)
            assert sum(REGISTERED in line for line in seen) == 2
            assert len(seen) == len(set(seen)), "a line came twice"
            once = list(client.invoker_logs("dl-1", tail=1000))  # the second process's
            assert sum(REGISTERED in line for line in once) == 1
            assert list(client.invoker_logs("dl-1", tail=0)) == []
        finally:
            for each in (first, second):
                if each is not None:
                    each.child.terminate()
                    each.child.wait_stopped()


@pytest.mark.parametrize(("path", "status", "error"), [
    pytest.param("invokers/nobody/logs", 404,
                 "The edge invoker 'nobody' is not known to this controller.",
                 id="an unknown invoker is a 404"),
    pytest.param("invokers/local0/logs", 400,
                 "The invoker 'local0' is local: its log is the controller's own.",
                 id="a local invoker's log is the controller's"),
    pytest.param("invokers/nobody/logs?tail=-1", 400, "tail must be from 0 to 5000, got -1.",
                 id="a bad tail is refused before anything else"),
])
def test_log_requests_that_cannot_be_answered(controller: Controller, path: str, status: int,
                                              error: str) -> None:
    with controller.client() as client:
        response = client.request("GET", path)
        assert response.status_code == status
        assert response.json()["error"] == error
        with pytest.raises(HttpError):
            list(client.invoker_logs("nobody"))
