"""The nodejs:default image (runtime_images/nodejs/Dockerfile), built offline and run in podman.

The image is what an invoker with a container engine runs for Node.js actions: the same proxy
on port 8080, as an unprivileged user, with the modules Composer's conductors require on
NODE_PATH. Built by build-image.sh on the debootstrapped base (made here if missing).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import docker
import pytest
from docker.models.containers import Container
from edgewhisk_runtime.local import free_port

from .. import client
from .conftest import INVOKER_ENV, ROOT

BUILD = ROOT / "runtime_images" / "nodejs" / "build-image.sh"
TAG = "localhost/edgewhisk/nodejs:latest"
READY_TIMEOUT_S = 60.0


@pytest.fixture(scope="session")
def nodejs_image(request: pytest.FixtureRequest) -> str:
    from edgewhisk_runtime.images import ImageBuildError, ensure_base

    capture = request.config.pluginmanager.getplugin("capturemanager")

    def progress(line: str) -> None:
        with capture.global_and_fixture_disabled():
            print(f"[nodejs] {line}", file=sys.stderr, flush=True)

    try:
        ensure_base(ROOT / ".build", progress)
    except ImageBuildError as exc:
        pytest.fail(f"building the base image failed: {exc}")
    done = subprocess.run([str(BUILD), TAG], capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        pytest.fail(f"build-image.sh failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return TAG


class Running:
    def __init__(self, container: Container, url: str) -> None:
        self.container = container
        self.url = url

    def logs(self, stream: str) -> str:
        data = self.container.logs(stdout=stream == "stdout", stderr=stream == "stderr")
        return bytes(data).decode("utf-8", "replace")

    def settled(self, ready: Callable[[str, str], bool], timeout: float = 15.0) -> tuple[str, str]:
        """(stdout, stderr) once ``ready`` holds: container logs reach the engine later."""
        end = time.monotonic() + timeout
        while True:
            out, err = self.logs("stdout"), self.logs("stderr")
            if ready(out, err) or time.monotonic() > end:
                return out, err
            time.sleep(0.1)


def _wait_http(url: str) -> None:
    end = time.monotonic() + READY_TIMEOUT_S
    while True:
        try:
            client.post(url, "/", b"", timeout=2)
            return
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.1)


@pytest.fixture
def container(docker_client: docker.DockerClient, nodejs_image: str) -> Iterator[Running]:
    port = free_port()
    started = docker_client.containers.run(
        nodejs_image, detach=True, environment=INVOKER_ENV,
        ports={"8080/tcp": ("127.0.0.1", port)}, labels={"edgewhisk.test": "nodejs-image"})
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_http(url)
        yield Running(started, url)
    finally:
        started.remove(force=True)


def test_an_action_runs_unprivileged_with_one_sentinel_per_stream(container: Running) -> None:
    code = ("function main(a) { console.log('out ' + a.x); console.error('err ' + a.x);"
            " return { uid: process.getuid(), host: process.env.__OW_API_HOST, x: a.x } }")
    assert client.init(container.url, {"code": code}) == (200, {"ok": True})
    assert client.run(container.url, {"x": "❄"}) == (
        200, {"uid": 1000, "host": INVOKER_ENV["__OW_API_HOST"], "x": "❄"})

    def ready(out: str, err: str) -> bool:
        return client.sentinels(out) == 1 == client.sentinels(err)

    out, err = container.settled(ready)
    assert (client.filtered(out), client.filtered(err)) == ("out ❄", "err ❄")
    assert ready(out, err)


def test_a_composer_conductor_finds_its_modules_in_the_image(
        container: Running, conductor: dict[str, Any]) -> None:
    value = {"name": conductor["name"], "main": "main", "code": conductor["action"]["exec"]["code"]}
    assert client.init(container.url, value) == (200, {"ok": True})
    status, step = client.run(container.url, {"n": 1}, activation_id="a1")
    assert status == 200, step
    assert (step["action"], step["params"]) == ("/_/first", {"n": 1})
