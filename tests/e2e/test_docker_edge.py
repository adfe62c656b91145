"""The ``docker`` backend on an edge invoker: the python3-ai image through podman's Docker API.

The agent runs in the root namespace and dials a controller on loopback over ``wss://`` (the
tests' CA; the certificate names 127.0.0.1); its actions run in containers of the python3-ai
image that podman's Docker-compatible service starts (session fixtures in tests/conftest.py).
A container's hostname is its short id, which is how the test knows the activation ran in one
and that the agent removed it when it stopped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from e2e.cluster import Api, annotation, poll, start_agent, start_controller
from e2e.netns import Host
from e2e.tls import Certificates

ACTION = '''import socket

import numpy
from edgewhisk import policy


@policy.fn(node="docker-edge", strict=True)
def main(args):
    return {"container": socket.gethostname(), "sum": int(numpy.arange(args["n"]).sum())}
'''

pytestmark = pytest.mark.container


@pytest.fixture
def host() -> Iterator[Host]:
    host = Host()
    try:
        yield host
    finally:
        host.close()


def test_an_edge_invoker_runs_actions_in_python3_ai_containers(
        host: Host, certificates: Certificates, podman_service: str, python3_ai_image: str,
        docker_client: docker.DockerClient, tmp_path: Path) -> None:
    controller = start_controller(host, tmp_path / "controller",
                                  "--tls-cert", str(certificates.cert),
                                  "--tls-key", str(certificates.key))
    api = Api(host, controller.api_host, controller.auth, str(certificates.ca))
    port = controller.api_host.rsplit(":", 1)[1]
    agent = start_agent(host, f"wss://127.0.0.1:{port}", api.token("docker-edge"), "docker-edge",
                        tmp_path / "docker-edge", "--ca-file", str(certificates.ca),
                        "--backend", "docker", "--docker-url", podman_service,
                        "--python-image", python3_ai_image, "--no-battery")
    source = tmp_path / "in_container.py"
    source.write_text(ACTION)
    api.deploy("in-container", source)

    last: dict[str, Any] = {}

    def ran() -> bool:
        last["status"], last["record"] = api.invoke("in-container", {"n": 10})
        return last["status"] == 200

    assert poll(ran, 180, 1.0), (last, agent.log()[-3000:])
    record = last["record"]
    assert annotation(record, "invoker") == "docker-edge"
    assert record["response"]["result"]["sum"] == 45
    container = record["response"]["result"]["container"]
    assert docker_client.containers.get(container).image.tags  # a container of the image
    status, warm = api.invoke("in-container", {"n": 4})
    assert status == 200 and warm["response"]["result"] == {"container": container, "sum": 6}

    host.close()  # SIGTERM: the agent removes its containers, the controller stops
    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(container)
    api.close()
