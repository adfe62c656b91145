"""ProcessBackend: each "container" is an action proxy run as a local child process.

Why: the embedded default needs no container engine, and the proxy process is exactly what a
container would run (``python -m edgewhisk_runtime serve``), so the pool cannot tell the
difference. There is no memory isolation here (``memory_mb`` is only the pool's slot size);
the Docker backend enforces it.

Cleanup is by pid, never by name: the proxy runs in its own session and starts the action in
another one, so :meth:`ProcessContainer.destroy` freezes the proxy (SIGSTOP: it cannot start
anything more), kills each child's process group, then the proxy's, and removes the proxy's
working folder (passed with ``--workdir``, so nothing is left in /tmp after a SIGKILL).
Each proxy also gets ``--lifeline-stdin``: its stdin is a pipe this process holds open, so if
the owner dies without destroying its containers (SIGKILL, a crash), the kernel closes the
pipe and every proxy stops by itself instead of lingering as an orphan.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from edgewhisk_runtime.containers.exceptions import ContainerStartError, UnsupportedKind
from edgewhisk_runtime.containers.interface import NODEJS, PYTHON, ActionSpec, ContainerBackend
from edgewhisk_runtime.containers.proxy_client import ProxyContainer
from edgewhisk_runtime.local import free_port

HOST = "127.0.0.1"
READY_TIMEOUT_S = 30.0
START_ATTEMPTS = 3  # a free port can be taken between choosing it and binding it
READ_CHUNK = 64 * 1024
NODE_PROXY = Path(__file__).resolve().parents[2] / "nodejs" / "proxy.js"


class ProcessContainer(ProxyContainer):
    """One proxy child process with its stdout/stderr read as asyncio pipes."""

    def __init__(self, kind: str, process: asyncio.subprocess.Process, port: int,
                 workdir: Path, concurrency: int) -> None:
        super().__init__(f"process-{process.pid}", kind, HOST, port, concurrency)
        self.pid = process.pid
        self.workdir = workdir
        self._process = process
        self._readers = [asyncio.ensure_future(self._read(name, stream)) for name, stream in
                         (("stdout", process.stdout), ("stderr", process.stderr))]
        self._destroyed = False

    async def _read(self, name: str, stream: asyncio.StreamReader | None) -> None:
        assert stream is not None
        try:
            while chunk := await stream.read(READ_CHUNK):
                self.logs.feed(name, chunk)
        finally:
            self.logs.end(name)

    @property
    def alive(self) -> bool:
        return self._process.returncode is None

    async def destroy(self) -> None:
        if self._destroyed:
            return
        self._destroyed = True
        await self.close_session()
        pidfds = _kill_tree(self.pid) if self.alive else []
        await self._process.wait()
        await asyncio.gather(*(_exited(fd, 5.0) for fd in pidfds))
        with contextlib.suppress(asyncio.TimeoutError):
            # The action's group is dead too, so the pipes' last writers are gone.
            await asyncio.wait_for(asyncio.gather(*self._readers), 5.0)
        for reader in self._readers:
            reader.cancel()
        if self._process.stdin is not None:
            self._process.stdin.close()  # the lifeline: nothing reads it any more
        shutil.rmtree(self.workdir, ignore_errors=True)


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def _kill_tree(pid: int) -> list[int]:
    """SIGKILL the proxy's process group and each child's (the action runs in its own session).

    Returns pidfds of the killed children (opened before the kill, so a reused pid cannot be
    mistaken for them): they are not our children, so their exit is awaited through these.
    """
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGSTOP)
    pidfds = []
    for child in _children(pid):
        with contextlib.suppress(OSError):
            pidfds.append(os.pidfd_open(child))
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    return pidfds


async def _exited(pidfd: int, timeout: float) -> None:
    """Until the process behind ``pidfd`` has exited (the fd becomes readable); closes it."""
    loop = asyncio.get_running_loop()
    gone: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        if not gone.done():
            gone.set_result(None)

    loop.add_reader(pidfd, readable)
    try:
        await asyncio.wait_for(gone, timeout)
    except TimeoutError:
        pass
    finally:
        loop.remove_reader(pidfd)
        os.close(pidfd)


class ProcessBackend(ContainerBackend):
    """python:3 always; nodejs:default when ``node`` and runtime_images/nodejs/proxy.js exist.

    ``artifacts`` is the proxy's ``--artifacts`` folder; ``env`` is added to every process's
    environment (after the action's own ``spec.env``).
    """

    def __init__(self, *, artifacts: Path | None = None, env: Mapping[str, str] | None = None,
                 node_proxy: Path = NODE_PROXY, python: str = sys.executable) -> None:
        self.artifacts = artifacts
        self.env = dict(env or {})
        self.python = python
        self.node = shutil.which("node")
        self.node_proxy = node_proxy
        kinds = {PYTHON}
        if self.node is not None and node_proxy.is_file():
            kinds.add(NODEJS)
        self.kinds = frozenset(kinds)

    def _command(self, kind: str, port: int, workdir: Path) -> list[str]:
        if kind == PYTHON:
            args = [self.python, "-m", "edgewhisk_runtime", "serve", "--host", HOST,
                    "--port", str(port), "--workdir", str(workdir), "--lifeline-stdin"]
            if self.artifacts is not None:
                args += ["--artifacts", str(self.artifacts)]
            return args
        assert self.node is not None
        return [self.node, str(self.node_proxy), "--host", HOST, "--port", str(port),
                "--workdir", str(workdir), "--lifeline-stdin"]

    async def start(self, spec: ActionSpec) -> ProcessContainer:
        if spec.kind not in self.kinds:
            raise UnsupportedKind(spec.kind, self.kinds)
        env = {**os.environ, **spec.env, **self.env, "PYTHONUNBUFFERED": "1"}
        failure: Exception | None = None
        for _ in range(START_ATTEMPTS):
            workdir = Path(tempfile.mkdtemp(prefix="edgewhisk-container-"))
            port = free_port(HOST)
            try:
                process = await asyncio.create_subprocess_exec(
                    *self._command(spec.kind, port, workdir), stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
                    cwd=workdir, start_new_session=True)
            except OSError as exc:
                shutil.rmtree(workdir, ignore_errors=True)
                raise ContainerStartError(f"cannot start the {spec.kind} proxy: {exc}") from exc
            container = ProcessContainer(spec.kind, process, port, workdir, spec.concurrency)
            try:
                await container.wait_ready(READY_TIMEOUT_S, container.is_alive)
                return container
            except ContainerStartError as exc:
                failure = exc
                await container.destroy()
            except BaseException:
                await container.destroy()
                raise
        raise ContainerStartError(f"the {spec.kind} proxy did not start: {failure}")
