"""Containers of the python3-ai image as conformance-suite targets.

A :class:`ContainerTarget` is the ``RuntimeTarget`` of tests/runtime/targets.py (``.url``,
``.stdout()``, ``.stderr()``, ``.stop()``) backed by a container started through the ``docker``
SDK against podman's Docker-compatible service, published on a free loopback port exactly as an
OpenWhisk invoker would reach it on 8080. A :class:`ContainerFactory` hands out fresh targets and
removes every container it started when closed, so a failing test cannot leave one behind.
"""

from __future__ import annotations

import http.client
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

import docker
import docker.errors
from docker.models.containers import Container

# Every container a test session starts carries this label (value: the session's id), so the
# session can find and remove them all, and tests can check that none is left.
SESSION_LABEL = "org.edgewhisk.test-session"
READY_TIMEOUT_S = 60.0
# What an invoker puts in every action container's environment (the other __OW_* come per /run).
INVOKER_ENV = {"__OW_API_HOST": "http://127.0.0.1:3233"}


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ContainerStartError(RuntimeError):
    """The container exited or did not answer on /init in time; carries its logs."""


class ContainerTarget:
    """One container of the image; ``.url`` reaches its port 8080."""

    def __init__(self, container: Container, port: int) -> None:
        self.container = container
        self.url = f"http://127.0.0.1:{port}"

    def stdout(self) -> str:
        """Everything the container wrote on stdout so far."""
        return self._logs(stdout=True, stderr=False)

    def stderr(self) -> str:
        """Everything the container wrote on stderr so far."""
        return self._logs(stdout=False, stderr=True)

    def stop(self) -> None:
        """Remove the container (killing it if it runs). Idempotent."""
        try:
            self.container.remove(force=True)
        except docker.errors.NotFound:
            pass

    def _logs(self, *, stdout: bool, stderr: bool) -> str:
        data = self.container.logs(stdout=stdout, stderr=stderr)
        return data.decode("utf-8", errors="replace")

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        """Wait until the proxy answers HTTP on /init (any status: GET is not an init)."""
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/init", timeout=2).close()
                return
            except urllib.error.HTTPError:
                return  # 404/405: the server is up and answered
            except (OSError, http.client.HTTPException) as exc:  # not listening yet
                last = exc
            self.container.reload()
            if self.container.status not in ("created", "running"):
                raise ContainerStartError(self._describe(f"exited ({self.container.status})"))
            if time.monotonic() > deadline:
                raise ContainerStartError(self._describe(f"no answer on /init: {last}"))
            time.sleep(0.1)

    def _describe(self, what: str) -> str:
        return (f"container {self.container.short_id} {what}\n"
                f"--- stdout\n{self.stdout()}\n--- stderr\n{self.stderr()}")


class ContainerFactory:
    """Starts fresh targets of one image and removes all of them on :meth:`close`."""

    def __init__(self, client: docker.DockerClient, image: str, session: str) -> None:
        self.client = client
        self.image = image
        self.session = session
        self._started: list[ContainerTarget] = []

    def __call__(self, env: Mapping[str, str] | None = None, *,
                 options: Mapping[str, Any] | None = None) -> ContainerTarget:
        """A new container, answering on its published port; removed if it fails to start.

        ``options`` are extra ``containers.create`` arguments, e.g. the resource limits an
        invoker sets (``mem_limit="256m"``, ``cap_drop=[...]``).
        """
        port = free_port()
        container = self.client.containers.create(
            self.image, ports={"8080/tcp": ("127.0.0.1", port)},
            environment={**INVOKER_ENV, **(env or {})}, labels={SESSION_LABEL: self.session},
            **(options or {}))
        target = ContainerTarget(container, port)
        self._started.append(target)
        try:
            container.start()
            target.wait_ready()
        except BaseException:
            target.stop()
            raise
        return target

    def leftovers(self) -> list[Container]:
        """Containers of this session that still exist, running or not."""
        return self.client.containers.list(
            all=True, filters={"label": f"{SESSION_LABEL}={self.session}"})

    def close(self) -> None:
        """Remove every container this session started, including ones tests forgot."""
        for target in self._started:
            target.stop()
        self._started.clear()
        for container in self.leftovers():
            try:
                container.remove(force=True)
            except docker.errors.NotFound:
                pass
