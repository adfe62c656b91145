"""The agent with ``--backend docker``: a run arrives through the tunnel and executes in the
python3-ai image through podman's Docker-compatible service (the same DockerBackend the
controller uses); SIGTERM removes every container the agent started."""

from __future__ import annotations

import signal
from pathlib import Path

import docker
import pytest
from edgewhisk_tunnel import Register, Result

from .harness import AgentProcess
from .test_agent import run_message
from .tunnel_server import TunnelServer

pytestmark = pytest.mark.container

CODE = "def main(args):\n    print('in a container')\n    return {'sum': args['a'] + args['b']}\n"
LABEL = "org.edgewhisk.backend"


def _labelled(client: docker.DockerClient) -> set[str]:
    return {c.id for c in client.containers.list(all=True, filters={"label": LABEL})}


def test_a_run_executes_in_the_python3_ai_image(tmp_path: Path, podman_service: str,
                                                docker_client: docker.DockerClient,
                                                python3_ai_image: str) -> None:
    before = _labelled(docker_client)
    server = TunnelServer().start()
    agent = AgentProcess(tmp_path, server.url, server.token, "--id", "box-1", "--backend",
                         "docker", "--docker-url", podman_service, "--python-image",
                         python3_ai_image, "--no-battery").start()
    try:
        assert "battery=none" in agent.wait_registered()
        register = server.wait_message(Register)
        assert {"python:3", "blackbox"} <= set(register.kinds)
        server.send(run_message("d1", CODE, {"a": 1, "b": 2}, name="adder"))
        result = server.wait_message(Result, lambda m: m.activation_id == "d1", timeout=180)
        assert result.outcome is not None and result.outcome.response == {"sum": 3}
        assert result.outcome.logs[0].endswith("stdout: in a container")
        ours = _labelled(docker_client) - before
        assert len(ours) == 1
        assert agent.stop(signal.SIGTERM) == 0
        assert not ours & _labelled(docker_client)
    finally:
        agent.stop(signal.SIGKILL)
        server.stop()
