"""wss:// to a real controller serving TLS with a certificate from a CA the test makes
(tests/e2e/tls.py): trusted with --ca-file it works; without it the agent stops with a clear
error instead of retrying forever."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from controller.api.harness import Controller, create_action
from e2e.tls import Certificates, make_certificates

from .harness import HELLO, AgentProcess, edgewhisk
from .test_with_controller import DEVICE, DEVICE_MEMORY, ON_DEVICE


@pytest.fixture
def certificates(tmp_path: Path) -> Certificates:
    return make_certificates(tmp_path / "pki", ["127.0.0.1"])


@pytest.fixture
def controller(tmp_path: Path, certificates: Certificates) -> Iterator[Controller]:
    controller = Controller(tmp_path / "data", "--tls-cert", str(certificates.cert),
                            "--tls-key", str(certificates.key)).start()
    try:
        yield controller
    finally:
        controller.stop()


def token(controller: Controller, certificates: Certificates, *extra: str) -> str:
    done = subprocess.run(edgewhisk("invoker", "token", "create", "--id", DEVICE, "--apihost",
                                    controller.api_host, "--auth", controller.auth, *extra),
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "WSK_CONFIG_FILE": "/nonexistent"})
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_wss_with_the_ca_file_registers_and_runs(controller: Controller,
                                                 certificates: Certificates,
                                                 tmp_path: Path) -> None:
    assert controller.api_host.startswith("https://")
    secret = token(controller, certificates, "--ca-file", str(certificates.ca))
    agent = AgentProcess(tmp_path, controller.api_host.replace("https://", "wss://"), secret,
                         "--id", DEVICE, "--memory", DEVICE_MEMORY,
                         "--ca-file", str(certificates.ca)).start()
    try:
        assert "controller=wss://" in agent.wait_registered()
        with controller.client(ca_file=str(certificates.ca)) as api:
            create_action(api, "hello", HELLO, annotations=ON_DEVICE)
            answer = api.request("POST", "actions/hello?blocking=true", json={"name": "tls"})
            assert answer.status_code == 200, answer.text
            assert answer.json()["response"]["result"] == {"greeting": "hello tls"}
        assert agent.stop(signal.SIGTERM) == 0
    finally:
        agent.stop(signal.SIGKILL)


def test_an_untrusted_certificate_stops_the_agent_with_a_hint(controller: Controller,
                                                              certificates: Certificates,
                                                              tmp_path: Path) -> None:
    secret = token(controller, certificates, "--ca-file", str(certificates.ca))
    agent = AgentProcess(tmp_path, controller.api_host.replace("https://", "wss://"), secret,
                         "--id", DEVICE).start()
    try:
        assert agent.wait_exit() == 3
        assert "certificate did not verify" in agent.log() and "--ca-file" in agent.log()
    finally:
        agent.stop(signal.SIGKILL)


def test_token_commands_without_the_ca_file_explain_the_tls_failure(
        controller: Controller) -> None:
    done = subprocess.run(edgewhisk("invoker", "token", "ls", "--apihost", controller.api_host,
                                    "--auth", controller.auth),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "--ca-file" in done.stderr
