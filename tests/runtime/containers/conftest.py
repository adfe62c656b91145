"""Fixtures of the container-pool tests: real proxies as processes, real podman containers.

``run`` is the test's event loop; ``make_pool`` builds pools over a backend and closes them at
teardown; ``docker_backend`` labels its containers per test and fails the test if any is left
after teardown. ``backend`` is parametrised over both backends for the behaviours they share.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import docker
import pytest
from edgewhisk_runtime.containers import ContainerBackend, ContainerPool
from edgewhisk_runtime.containers.docker import DockerBackend
from edgewhisk_runtime.containers.process import ProcessBackend

from .support import TEST_LABEL, Run


@pytest.fixture
def run() -> Iterator[Run]:
    loop = asyncio.new_event_loop()
    yield loop.run_until_complete
    loop.close()


@pytest.fixture
def pools() -> list[ContainerPool]:
    """Every pool the test made (closed at teardown, before any leftover check)."""
    return []


@pytest.fixture
def docker_backend(docker_client: docker.DockerClient, python3_ai_image: str, run: Run,
                   pools: list[ContainerPool]) -> Iterator[DockerBackend]:
    """A DockerBackend whose containers carry a label unique to this test."""
    label = {TEST_LABEL: uuid.uuid4().hex}
    backend = DockerBackend(docker_client, images={"python:3": python3_ai_image}, labels=label)
    yield backend
    for pool in pools:
        run(pool.close())
    left = docker_client.containers.list(
        all=True, filters={"label": f"{TEST_LABEL}={label[TEST_LABEL]}"})
    for container in left:
        container.remove(force=True)
    assert not left, f"containers left behind: {[c.short_id for c in left]}"


@pytest.fixture(params=["process", "docker"])
def backend(request: pytest.FixtureRequest) -> ContainerBackend:
    if request.param == "process":
        return ProcessBackend()
    return request.getfixturevalue("docker_backend")


@pytest.fixture
def make_pool(run: Run, pools: list[ContainerPool]) -> Iterator[Callable[..., ContainerPool]]:
    def make(backend: ContainerBackend | None = None, **options: Any) -> ContainerPool:
        async def build() -> ContainerPool:
            options.setdefault("memory_mb", 1024)
            return ContainerPool(backend or ProcessBackend(), **options)

        pool = run(build())
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        run(pool.close())
