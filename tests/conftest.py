"""Session fixtures for the container tests: podman's Docker API, the image, fresh containers.

The python3-ai image is built (or found up to date: a content hash of the sources) once per
session, podman's Docker-compatible service runs as a child process of the session on a private
socket, and every container a test starts is removed at the end of the session even when the
test fails or forgets ``stop()``. The conformance suite (tests/runtime) uses
``container_runtime_factory`` to run every case a second time against a container.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import pytest

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:  # tests/images is imported as the package `images`
    sys.path.insert(0, str(TESTS))

from images.targets import ContainerFactory, ContainerTarget  # noqa: E402

SERVICE_TIMEOUT_S = 30.0


def _service_log() -> Path:
    return Path(f"/tmp/edgewhisk-test-{os.getpid()}.podman.log")


@pytest.fixture(scope="session")
def podman_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``podman system service`` on a private socket; yields its ``unix://`` URL.

    The service is this session's child and is stopped by its pid, so parallel sessions and a
    system-wide service do not interfere. It runs in a folder of its own: its container monitors
    (conmon) inherit that working directory and write an ``oom`` file into it when a container
    is OOM-killed, which must not land in the checkout.
    """
    if shutil.which("podman") is None:
        pytest.fail("podman is not installed: run runtime_images/host-setup.sh (make host)")
    sock = Path(f"/tmp/edgewhisk-test-{os.getpid()}.sock")
    sock.unlink(missing_ok=True)
    url = f"unix://{sock}"
    log = _service_log()
    with open(log, "wb") as out:
        proc = subprocess.Popen(["podman", "system", "service", "--time=0", url],
                                stdout=out, stderr=subprocess.STDOUT,
                                cwd=tmp_path_factory.mktemp("podman-service"))
    try:
        _wait_for_service(proc, url, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        sock.unlink(missing_ok=True)
        log.unlink(missing_ok=True)


def _wait_for_service(proc: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + SERVICE_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            pytest.fail(f"podman system service exited {proc.returncode}:\n{log.read_text()}")
        if Path(url.removeprefix("unix://")).exists():
            client = docker.DockerClient(base_url=url, timeout=5)
            try:
                if client.ping():
                    return
            except docker.errors.DockerException:
                pass
            finally:
                client.close()
        if time.monotonic() > deadline:
            pytest.fail(f"podman system service did not answer on {url}:\n{log.read_text()}")
        time.sleep(0.1)


@pytest.fixture(scope="session")
def docker_client(podman_service: str) -> Iterator[docker.DockerClient]:
    """The ``docker`` SDK talking to this session's podman service."""
    client = docker.DockerClient(base_url=podman_service, timeout=120)
    yield client
    client.close()


@pytest.fixture(scope="session")
def python3_ai_image(request: pytest.FixtureRequest) -> str:
    """The image tag for the current sources (built at most once per session; cached by hash).

    Progress goes to the terminal uncaptured: a cold build takes minutes.
    """
    from edgewhisk_runtime.images import ImageBuildError, build_image

    capture = request.config.pluginmanager.getplugin("capturemanager")

    def progress(line: str) -> None:
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            print(f"[python3-ai] {line}", file=sys.stderr, flush=True)

    try:
        return build_image(tag=None, progress=progress)
    except ImageBuildError as exc:
        pytest.fail(f"building the python3-ai image failed: {exc}")


@pytest.fixture(scope="session")
def container_factory(docker_client: docker.DockerClient,
                      python3_ai_image: str) -> Iterator[ContainerFactory]:
    """The session's one factory; closing it removes every container the session started."""
    factory = ContainerFactory(docker_client, python3_ai_image, session=str(os.getpid()))
    try:
        yield factory
    finally:
        factory.close()
        left = factory.leftovers()
        assert not left, f"containers left behind: {[c.short_id for c in left]}"


@pytest.fixture(scope="session")
def container_runtime_factory(
        container_factory: ContainerFactory) -> Callable[..., ContainerTarget]:
    """``factory(env=None) -> ContainerTarget``: a fresh container of the image per call.

    Used by tests/runtime/conftest.py for the ``container`` target of the conformance suite;
    ``target.stop()`` removes the container, and the session removes any that remain.
    """
    return container_factory


# -- the checkout is left as it was found -----------------------------------------------------

ROOT = TESTS.parent


def _untracked() -> set[str]:
    """Files in the checkout that git neither tracks nor ignores (empty outside a git clone)."""
    done = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain",
                           "--untracked-files=all"],
                          capture_output=True, text=True)
    return {line[3:] for line in done.stdout.splitlines() if line.startswith("?? ")}


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_BEFORE] = _untracked()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when it left files in the checkout (a test, a server it started or an action
    wrote into the working directory instead of a temporary folder)."""
    left = _untracked() - session.config.stash.get(_BEFORE, set())
    if left:
        print(f"\nthe test run left files in the checkout: {sorted(left)}", file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_BEFORE = pytest.StashKey[set[str]]()
