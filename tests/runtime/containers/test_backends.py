"""What each backend adds: kinds, cleanup by pid or label, memory limits, blackbox images."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import docker
import pytest
from edgewhisk_devkit import descendants
from edgewhisk_runtime.containers import ContainerUnreachable
from edgewhisk_runtime.containers.docker import MEMORY_EXHAUSTED, DockerBackend
from edgewhisk_runtime.containers.pool import ABNORMAL_RUN
from edgewhisk_runtime.containers.process import ProcessBackend, ProcessContainer

from . import actions
from .support import Run, all_stopped, fields, host_pids, spec
from .test_pool import MakePool


@pytest.mark.parametrize("proxy_exists, kinds", [
    pytest.param(True, {"python:3", "nodejs:default"},
                 id="nodejs when the node proxy exists"),
    pytest.param(False, {"python:3"}, id="python only without the node proxy"),
])
def test_process_backend_kinds(tmp_path: Path, proxy_exists: bool, kinds: set[str]) -> None:
    assert shutil.which("node"), "node is part of the environment (CONTRIBUTING.md, set-up)"
    proxy = tmp_path / "proxy.js"
    if proxy_exists:
        proxy.write_text("// a proxy\n")
    assert ProcessBackend(node_proxy=proxy).kinds == frozenset(kinds)


def test_process_backend_runs_nodejs_actions(run: Run, make_pool: MakePool) -> None:
    pool = make_pool(ProcessBackend())
    action = spec(actions.NODE_ECHO, kind="nodejs:default")
    outcomes = [run(pool.run(action, {}, fields(f"act{i}"))) for i in range(2)]
    tree = host_pids(outcomes[1])
    assert [o.status for o in outcomes] == [200, 200]
    assert outcomes[0].container_id == outcomes[1].container_id
    assert outcomes[1].init_ms is None
    assert [line.split(" ", 1)[1] for line in outcomes[1].logs] == [
        "stdout: act1 out", "stderr: act1 err"]
    run(pool.close())
    assert all_stopped(tree)


@pytest.mark.parametrize("images, kinds", [
    pytest.param(None, {"python:3", "blackbox"}, id="python3-ai and blackbox by default"),
    pytest.param({"python:3": "p", "nodejs:default": "n"}, {"python:3", "nodejs:default",
                                                           "blackbox"},
                 id="nodejs only when an image is configured for it"),
])
def test_docker_backend_kinds(docker_client: docker.DockerClient,
                              images: dict[str, str] | None, kinds: set[str]) -> None:
    assert DockerBackend(docker_client, images=images).kinds == frozenset(kinds)


def test_a_destroyed_process_container_leaves_no_process_and_no_folder(run: Run) -> None:
    action = spec(actions.SLEEPER)

    async def scenario() -> ProcessContainer:
        container = await ProcessBackend().start(action)
        assert await container.init(action.init_payload()) == (200, {"ok": True})
        status, _, _ = await container.run({"value": {}})
        assert status == 200
        busy = asyncio.ensure_future(container.run({"value": {"sleep": 30}}))
        await asyncio.sleep(0.3)  # let /run reach the action
        tree.extend([container.pid, *descendants(container.pid)])
        await container.destroy()
        await container.destroy()  # idempotent
        with pytest.raises(ContainerUnreachable):
            await busy
        return container

    tree: list[int] = []
    container = run(scenario())
    assert not container.alive and not container.workdir.exists()
    assert len(tree) >= 2 and all_stopped(tree)


def test_docker_container_has_the_memory_limit(run: Run, make_pool: MakePool,
                                               docker_backend: DockerBackend,
                                               docker_client: docker.DockerClient) -> None:
    pool = make_pool(docker_backend)
    outcome = run(pool.run(spec(actions.SLEEPER, memory_mb=192), {}, fields("a1")))
    container = docker_client.containers.get(outcome.container_id.removeprefix("docker-"))
    assert container.attrs["HostConfig"]["Memory"] == 192 * 1024 * 1024
    assert container.labels.items() >= docker_backend.labels.items()


def test_a_blackbox_action_runs_its_own_image(run: Run, make_pool: MakePool,
                                              docker_backend: DockerBackend,
                                              python3_ai_image: str) -> None:
    pool = make_pool(docker_backend)
    action = spec(actions.ECHO, kind="blackbox", image=python3_ai_image)
    outcomes = [run(pool.run(action, {"lines": 1}, fields(f"act{i}"))) for i in range(2)]
    assert [o.status for o in outcomes] == [200, 200]
    assert outcomes[0].container_id == outcomes[1].container_id
    assert any(line.endswith("stdout: act1 out 0") for line in outcomes[1].logs)
    assert not any("act0" in line for line in outcomes[1].logs)


def test_a_container_removed_from_outside_mid_run_is_replaced(
        run: Run, make_pool: MakePool, docker_backend: DockerBackend,
        docker_client: docker.DockerClient) -> None:
    pool = make_pool(docker_backend)
    action = spec(actions.SLEEPER)

    async def scenario() -> tuple[str, int, object]:
        first = await pool.run(action, {}, fields("a1"))
        busy = asyncio.ensure_future(pool.run(action, {"sleep": 30}, fields("a2")))
        await asyncio.sleep(0.5)  # let /run reach the action
        sdk = docker_client.containers.get(first.container_id.removeprefix("docker-"))
        await asyncio.get_running_loop().run_in_executor(None, lambda: sdk.remove(force=True))
        crashed = await busy
        return first.container_id, crashed.status, crashed.response

    first_id, status, response = run(scenario())
    assert (status, response) == (502, {"error": ABNORMAL_RUN})
    after = run(pool.run(action, {}, fields("a3")))
    assert after.status == 200 and after.container_id != first_id


def test_a_blackbox_without_sentinels_keeps_its_container_and_its_lines(
        run: Run, make_pool: MakePool, docker_backend: DockerBackend,
        docker_client: docker.DockerClient, python3_ai_image: str) -> None:
    backend = DockerBackend(docker_client, labels=docker_backend.labels, run_options={
        "command": ["python", "-c", actions.NO_SENTINEL_SERVER]})
    pool = make_pool(backend)
    action = spec(None, kind="blackbox", image=python3_ai_image)
    outcomes = [run(pool.run(action, {"n": i}, fields(f"act{i}"))) for i in range(2)]
    assert [(o.status, o.response) for o in outcomes] == [(200, {"echo": {"n": 0}}),
                                                          (200, {"echo": {"n": 1}})]
    assert outcomes[0].container_id == outcomes[1].container_id
    assert [line.split(" ", 1)[1] for line in outcomes[1].logs] == ["stdout: ran act1"]


def test_an_action_over_its_memory_limit_gets_upstreams_message(
        run: Run, make_pool: MakePool, docker_backend: DockerBackend) -> None:
    pool = make_pool(docker_backend)
    action = spec(actions.HOG, memory_mb=128)
    fits = run(pool.run(action, {"mb": 8}, fields("a1")))
    assert (fits.status, fits.response) == (200, {"held_mb": 8})
    hog = run(pool.run(action, {"mb": 400}, fields("a2")))
    assert (hog.status, hog.response) == (502, {"error": MEMORY_EXHAUSTED})
    after = run(pool.run(action, {"mb": 8}, fields("a3")))
    assert after.status == 200 and after.container_id != fits.container_id


def test_a_blackbox_image_that_does_not_exist_is_a_developer_error(
        run: Run, make_pool: MakePool, docker_backend: DockerBackend) -> None:
    pool = make_pool(docker_backend)
    image = "localhost/edgewhisk/no-such-image:latest"
    outcome = run(pool.run(spec(None, kind="blackbox", image=image), {}, fields("a1")))
    assert (outcome.status, outcome.response, outcome.init_failed) == (
        502, {"error": f"Failed to pull container image '{image}'."}, True)
    assert pool.containers == 0 and pool.free_memory_mb == pool.memory_mb
