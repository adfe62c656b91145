"""The controller with ``--backend docker``: actions run in the python3-ai image through
podman's Docker-compatible service, and SIGTERM removes every container it started."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest

from .harness import Controller, create_action

pytestmark = pytest.mark.container

CODE = "def main(args):\n    print('in a container')\n    return {'sum': args['a'] + args['b']}\n"
LABEL = "org.edgewhisk.backend"


def _labelled(client: docker.DockerClient) -> set[str]:
    return {c.id for c in client.containers.list(all=True, filters={"label": LABEL})}


def test_python_and_blackbox_actions_run_in_containers(
    tmp_path: Path, podman_service: str, docker_client: docker.DockerClient,
    python3_ai_image: str,
) -> None:
    before = _labelled(docker_client)
    controller = Controller(tmp_path / "data", "--backend", "docker",
                            "--docker-url", podman_service,
                            "--python-image", python3_ai_image).start()
    try:
        with controller.client() as guest:
            create_action(guest, "adder", CODE)
            response = guest.request("POST", "actions/adder?blocking=true", json={"a": 1, "b": 2})
            assert response.status_code == 200, response.text
            record = response.json()
            assert record["response"]["result"] == {"sum": 3}
            assert record["logs"][0].endswith("stdout: in a container")
            blackbox = {"exec": {"kind": "blackbox", "image": python3_ai_image, "code": CODE}}
            assert guest.request("PUT", "actions/boxed", json=blackbox).status_code == 200
            boxed = guest.request("POST", "actions/boxed?blocking=true&result=true",
                                  json={"a": 2, "b": 2})
            assert boxed.status_code == 200, boxed.text
            assert boxed.json() == {"sum": 4}
        ours = _labelled(docker_client) - before
        assert len(ours) == 2
    finally:
        assert controller.stop() == 0
    assert not ours & _labelled(docker_client)
