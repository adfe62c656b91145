"""The ansible/ playbooks: a syntax check of each, then a REAL run of edge_invoker.yml against
localhost with a REAL controller (tests/controller/api/harness.py), so the role obtains a device
token through the API; the agent is then started with the rendered unit's ExecStart line and
EnvironmentFile (what systemd would do) and must show up connected in the controller's API.

This folder has no ``__init__.py`` on purpose: as a package it would be named ``ansible`` and
shadow ansible-core in the test process.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from controller.api.harness import GUEST_KEY, Controller, started
from edgewhisk_client import Client
from edgewhisk_devkit import Child
from edgewhisk_runtime.local import free_port

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOKS = ROOT / "ansible"
BIN = Path(sys.executable).parent
EDGEWHISK = BIN / "edgewhisk"
DEVICE = "pi-ansible"
REGISTER_TIMEOUT_S = 60.0


def ansible_env(home: Path) -> dict[str, str]:
    """Ansible's own state (temp files, facts cache) in the test's folder, no colours."""
    return {**os.environ, "ANSIBLE_HOME": str(home), "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
            "ANSIBLE_REMOTE_TEMP": str(home / "tmp"), "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0", "ANSIBLE_ROLES_PATH": str(PLAYBOOKS / "roles")}


def playbook(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "ansible-playbook"), *args], cwd=PLAYBOOKS,
                          env=ansible_env(home), capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("name", ["site.yml", "controller.yml", "edge_invoker.yml"],
                         ids=["the whole site parses", "the controller playbook parses",
                              "the edge invoker playbook parses"])
def test_playbook_passes_the_syntax_check(tmp_path: Path, name: str) -> None:
    done = playbook(tmp_path, "--syntax-check", "-i", "inventory.example.ini", name)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
def controller(tmp_path: Path) -> Iterator[Controller]:
    yield from started(tmp_path / "data", "--invokers", "0")


@pytest.fixture
def children() -> Iterator[list[Child | Controller]]:
    """What a test started from a rendered unit; stopped by pid (SIGTERM, SIGKILL if it
    hangs) at the end, whatever happened."""
    started: list[Child | Controller] = []
    yield started
    for process in started:
        process.stop()


def common_vars(tmp_path: Path) -> dict[str, Any]:
    """Install nothing, create no user, render units into tmp_path and start none."""
    return {
        "edgewhisk_become": False, "ansible_python_interpreter": sys.executable,
        "edgewhisk_service_manager": "none", "edgewhisk_systemd_unit_dir": str(tmp_path / "units"),
        "edgewhisk_prefix": str(tmp_path / "prefix"), "edgewhisk_install": False,
        "edgewhisk_bin": str(EDGEWHISK), "edgewhisk_create_user": False,
        "edgewhisk_user": "root", "edgewhisk_group": "root", "edgewhisk_system_packages": [],
    }


def run_with(tmp_path: Path, name: str, hosts_var: str,
             variables: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps({hosts_var: "localhost", **variables}))
    return playbook(tmp_path, "-i", "localhost,", "-c", "local", "-e", f"@{vars_file}", name)


def unit_fields(unit: Path) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in unit.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            fields[key] = value
    return fields


def exec_start(fields: dict[str, str]) -> list[str]:
    """The unit's command as systemd runs it ('%%' is a literal '%')."""
    return [arg.replace("%%", "%") for arg in shlex.split(fields["ExecStart"])]


def environment_file(path: Path) -> dict[str, str]:
    pairs = (line.partition("=") for line in path.read_text().splitlines() if line.strip())
    return {key: value for key, _, value in pairs}


def invokers(controller: Controller) -> list[dict[str, Any]]:
    with controller.client() as client:
        response = client.request("GET", "invokers", namespace="guest")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def wait_connected(controller: Controller, agent: Child) -> dict[str, Any]:
    deadline = time.monotonic() + REGISTER_TIMEOUT_S
    while time.monotonic() < deadline:
        assert agent.poll() is None, f"the agent exited {agent.poll()}:\n{agent.log()}"
        found = [i for i in invokers(controller) if i["id"] == DEVICE and i["connected"]]
        if found:
            return found[0]
        time.sleep(0.2)
    raise AssertionError(f"{DEVICE} did not connect:\n{agent.log()}\n{controller.log()}")


def test_edge_invoker_playbook_gets_a_token_and_its_unit_registers_the_agent(
        tmp_path: Path, controller: Controller,
        children: list[Child | Controller]) -> None:
    ws_url = controller.api_host.replace("http://", "ws://", 1)
    variables = {
        **common_vars(tmp_path), "invoker_id": DEVICE, "invoker_controller": ws_url,
        "invoker_namespace": "guest", "invoker_namespace_auth": controller.auth,
        "invoker_owner": "alice",
        "invoker_site": "home", "invoker_networks": ["home-wifi"],
        "invoker_capabilities": ["camera"], "invoker_labels": {"room": "kitchen"},
        "invoker_battery": "sim:level=0.9", "invoker_extra_args": ["--backoff-cap", "1"],
        "invoker_store_cap": "64MB",
    }

    first = run_with(tmp_path, "edge_invoker.yml", "edge_invoker_hosts", variables)
    assert first.returncode == 0, first.stdout + first.stderr
    with controller.client() as client:
        tokens = client.request("GET", "invokers/tokens", namespace="guest").json()
    assert [t["id"] for t in tokens] == [DEVICE]

    # A second run keeps the token it wrote (no new request, nothing changed).
    second = run_with(tmp_path, "edge_invoker.yml", "edge_invoker_hosts", variables)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "changed=0" in second.stdout, second.stdout

    fields = unit_fields(tmp_path / "units" / "edgewhisk-invoker.service")
    command = exec_start(fields)
    assert command[:2] == [str(EDGEWHISK), "invoker"]
    assert "--token" not in command  # the token comes from the EnvironmentFile
    # the sandbox, one directive a line (tests/fleet checks that systemd applies it)
    assert (fields["NoNewPrivileges"], fields["ProtectSystem"]) == ("yes", "strict")
    assert fields["ReadWritePaths"] == str(tmp_path / "prefix" / "state")
    env_file = Path(fields["EnvironmentFile"])
    assert env_file.stat().st_mode & 0o777 == 0o600

    agent = Child(command, tmp_path / "agent.log", cwd=Path(fields["WorkingDirectory"]),
                  env=environment_file(env_file))
    children.append(agent)
    agent.start()
    invoker = wait_connected(controller, agent)
    assert (invoker["owner"], invoker["site"]) == ("alice", "home")
    assert invoker["capabilities"] == ["camera"]
    assert invoker["labels"]["room"] == "kitchen"
    assert "home-wifi" in invoker["networks"]
    deadline = time.monotonic() + REGISTER_TIMEOUT_S  # the agent pushes it after registering
    while invoker["store"] is None and time.monotonic() < deadline:
        time.sleep(0.2)
        invoker = wait_connected(controller, agent)
    assert invoker["store"]["capacity_bytes"] == 64 * 1000**2  # the unit's --store-cap
    assert agent.stop() == 0, agent.log()


def test_controller_playbook_renders_a_unit_that_serves_the_api_its_wskprops_names(
        tmp_path: Path, children: list[Child | Controller]) -> None:
    """The role's defaults: every address (0.0.0.0) without TLS, so the unit says --insecure;
    a namespace of its own whose fresh key the wskprops file holds, and no guest key."""
    port = free_port()
    variables = {**common_vars(tmp_path), "controller_port": port,
                 "controller_public_host": "127.0.0.1"}
    done = run_with(tmp_path, "controller.yml", "controller_hosts", variables)
    assert done.returncode == 0, done.stdout + done.stderr
    props = environment_file(tmp_path / "prefix" / "etc" / "wskprops")
    assert props["AUTH"] and props["AUTH"] != GUEST_KEY
    assert props["AUTH"] not in done.stdout  # the key is never in the play's output

    fields = unit_fields(tmp_path / "units" / "edgewhisk-controller.service")
    command = exec_start(fields)
    assert command[:2] == [str(EDGEWHISK), "controller"]
    assert command[command.index("--host") + 1] == "0.0.0.0" and "--insecure" in command
    # the unit's own command line; ready once it printed APIHOST= and AUTH= (the devkit reads)
    server = Controller(tmp_path / "prefix", command=command, log=tmp_path / "controller.log",
                        cwd=Path(fields["WorkingDirectory"]))
    children.append(server)
    server.start()
    assert server.auth == ""  # off loopback: no guest key

    assert props["APIHOST"] == f"http://127.0.0.1:{port}" == server.api_host
    with Client(props["APIHOST"], props["AUTH"]) as client:
        assert client.namespaces() == ["edgewhisk"]
        response = client.request("GET", "invokers")
    assert response.status_code == 200, response.text
    assert response.json() == []
    with Client(props["APIHOST"], GUEST_KEY) as client:
        assert client.request("GET", "invokers").status_code == 401

    again = run_with(tmp_path, "controller.yml", "controller_hosts", variables)
    assert again.returncode == 0 and "changed=0" in again.stdout, again.stdout
    assert environment_file(tmp_path / "prefix" / "etc" / "wskprops") == props
    assert server.stop() == 0, server.log()
