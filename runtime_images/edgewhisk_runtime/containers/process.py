"""ProcessBackend: each "container" is an action proxy run as a local child process.

Why: the embedded default needs no container engine, and the proxy process is exactly what a
container would run (``python -m edgewhisk_runtime serve``), so the pool cannot tell the
difference.

Isolation: each proxy runs in a bubblewrap sandbox (:mod:`.sandbox`: its own user, pid
namespace, private /tmp, a read-only view of only what the runtime needs, its own work folder,
resource limits from the action's limits), with an environment built from the allow-list
(``edgewhisk_runtime.environment``), and sees the invoker's node store only through its
:class:`~.exchange.Exchange`. Where bubblewrap is missing or cannot create namespaces, the
backend says why at start (a warning in the log) and serves the first namespace it runs only
(:class:`~.exceptions.NamespaceRefused` for the others): without a sandbox every action runs
as the invoker's user, which is safe for one tenant, not for two.

Work folders are ``edgewhisk-container-<owner>-*`` (``edgewhisk_runtime.workdirs``) under
``workroot`` (default: the temporary folder; put it on the node store's file system so that
staging an artifact is a hard link), so a crashed owner's folders are swept at the next start.

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
import logging
import os
import shutil
import signal
import socket
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

from edgewhisk_runtime import workdirs
from edgewhisk_runtime.containers.exceptions import (
    ContainerStartError,
    NamespaceRefused,
    UnsupportedKind,
)
from edgewhisk_runtime.containers.exchange import Exchange
from edgewhisk_runtime.containers.interface import NODEJS, PYTHON, ActionSpec, ContainerBackend
from edgewhisk_runtime.containers.proxy_client import ProxyContainer
from edgewhisk_runtime.containers.sandbox import Limits, Sandbox
from edgewhisk_runtime.environment import proxy_environment

log = logging.getLogger("edgewhisk_runtime.containers")

HOST = "127.0.0.1"
READY_TIMEOUT_S = 30.0
START_ATTEMPTS = 3  # a proxy that dies while it starts (a memory limit hit at import) is retried
LISTEN_BACKLOG = 128  # aiohttp's own default
READ_CHUNK = 64 * 1024
NODE_PROXY = Path(__file__).resolve().parents[2] / "nodejs" / "proxy.js"
DEFAULT_NPROC = 512
"""Processes (threads included) of one sandbox; what a container's pids limit would be."""
DEFAULT_FSIZE_MB = 1024
"""The largest file an action may write (OpenWhisk has no such limit; artifacts can be big)."""
NO_SANDBOX = "the sandbox is turned off"


class ProcessContainer(ProxyContainer):
    """One proxy child process with its stdout/stderr read as asyncio pipes."""

    def __init__(self, kind: str, process: asyncio.subprocess.Process, listener: socket.socket,
                 workdir: Path, concurrency: int, exchange: Exchange) -> None:
        port = listener.getsockname()[1]
        super().__init__(f"process-{process.pid}", kind, HOST, port, concurrency)
        self.pid = process.pid
        # Our copy of the proxy's socket stays open until destroy: even after the proxy died,
        # its port is not free for another process's proxy to answer our requests.
        self._listener = listener
        self.workdir = workdir
        self.exchange = exchange
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
        self._listener.close()


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

    ``artifacts`` is the proxies' ``--artifacts`` folder (each namespace gets its own
    subfolder ``ARTIFACTS/<namespace>``); ``env`` is added to every process's environment
    (after the allow-list and the action's own ``spec.env``). ``sandbox``: ``"auto"`` finds
    bubblewrap, None turns it off; ``hidden`` are folders no sandbox may show (the invoker's
    ``--data``, its node store) even where a bound folder holds them. ``nproc`` and
    ``fsize_mb`` are the limits of every sandbox; memory and CPU time come from the action.
    """

    def __init__(self, *, artifacts: Path | None = None, env: Mapping[str, str] | None = None,
                 node_proxy: Path = NODE_PROXY, python: str = sys.executable,
                 workroot: Path | None = None,
                 sandbox: Sandbox | Literal["auto"] | None = "auto",
                 hidden: Sequence[Path] = (), nproc: int = DEFAULT_NPROC,
                 fsize_mb: int = DEFAULT_FSIZE_MB) -> None:
        self.artifacts = artifacts
        self.env = dict(env or {})
        self.python = python
        self.workroot = workroot
        self.node = shutil.which("node")
        self.node_proxy = node_proxy
        kinds = {PYTHON}
        if self.node is not None and node_proxy.is_file():
            kinds.add(NODEJS)
        self.kinds = frozenset(kinds)
        self.nproc, self.fsize_mb = nproc, fsize_mb
        self.prlimit = shutil.which("prlimit")
        self.unsandboxed: str | None = NO_SANDBOX if sandbox is None else None
        if sandbox == "auto":
            extra = _node_dirs(self.node, node_proxy) if NODEJS in kinds and self.node else []
            sandbox, self.unsandboxed = Sandbox.detect(python=python, extra=extra,
                                                       hidden=hidden)
        self.sandbox: Sandbox | None = sandbox
        self._namespace: str | None = None
        if self.unsandboxed is not None:
            log.warning("process backend: actions run without a sandbox (%s): each runs as "
                        "this process's user and can read what it can read, so this invoker "
                        "serves one namespace only", self.unsandboxed)

    def _command(self, kind: str, fd: int, workdir: Path, namespace: str) -> list[str]:
        if kind == PYTHON:
            args = [self.python, "-m", "edgewhisk_runtime", "serve", "--listen-fd", str(fd),
                    "--workdir", str(workdir), "--lifeline-stdin"]
            artifacts = self._artifacts(namespace)
            if artifacts is not None:
                args += ["--artifacts", str(artifacts)]
            return args
        assert self.node is not None
        return [self.node, str(self.node_proxy), "--listen-fd", str(fd),
                "--workdir", str(workdir), "--lifeline-stdin"]

    def _artifacts(self, namespace: str) -> Path | None:
        if self.artifacts is None:
            return None
        folder = self.artifacts / namespace
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _admit(self, namespace: str) -> None:
        """Unsandboxed, only the first namespace is served (see the module docstring)."""
        if self.unsandboxed is None:
            return
        if self._namespace is None:
            self._namespace = namespace
        elif namespace != self._namespace:
            raise NamespaceRefused(namespace, self._namespace, self.unsandboxed)

    def _wrap(self, command: list[str], spec: ActionSpec, workdir: Path,
              exchange: Exchange) -> tuple[list[str], dict[str, str]]:
        """The command line and environment of one proxy: sandboxed, or limited only."""
        limits = Limits.of(spec.memory_mb, fsize_mb=self.fsize_mb, nproc=self.nproc)
        tmp = Path("/tmp") if self.sandbox is not None else workdir / "tmp"
        env = {**proxy_environment(workdir, tmp, python=self.python), **spec.env, **self.env}
        if self.sandbox is not None:
            return self.sandbox.command(command, workdir=workdir, inbox=exchange.inbox,
                                        limits=limits, env=env,
                                        writable=self._writable(spec.namespace)), env
        tmp.mkdir()
        # No process limit unsandboxed: RLIMIT_NPROC would count all of this user's processes.
        prefix = limits.prlimit(self.prlimit, nproc=False) if self.prlimit else []
        return prefix + command, env

    def _writable(self, namespace: str) -> list[Path]:
        folder = self._artifacts(namespace)
        return [] if folder is None else [folder]

    async def start(self, spec: ActionSpec) -> ProcessContainer:
        if spec.kind not in self.kinds:
            raise UnsupportedKind(spec.kind, self.kinds)
        self._admit(spec.namespace)
        failure: Exception | None = None
        for _ in range(START_ATTEMPTS):
            workdir = workdirs.make(workdirs.CONTAINER, self.workroot)
            exchange = Exchange(workdir)
            listener = _listener()
            fd = listener.fileno()
            command, env = self._wrap(self._command(spec.kind, fd, workdir, spec.namespace),
                                      spec, workdir, exchange)
            try:
                process = await asyncio.create_subprocess_exec(
                    *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE, env=env, cwd=workdir,
                    start_new_session=True, pass_fds=(fd,))
            except OSError as exc:
                shutil.rmtree(workdir, ignore_errors=True)
                listener.close()
                raise ContainerStartError(f"cannot start the {spec.kind} proxy: {exc}") from exc
            container = ProcessContainer(spec.kind, process, listener, workdir,
                                         spec.concurrency, exchange)
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


def _listener() -> socket.socket:
    """A listening socket on a port the OS chose, for one proxy to serve (``--listen-fd``).

    Why bound here and passed down rather than a free port named on the command line: between
    choosing a free port and the proxy binding it, another process (an agent and a controller on
    one machine, two test runs) could choose it too, and then one proxy's readiness probe and
    ``/init`` reached the other's. A socket bound before the proxy starts has no such moment
    (what systemd's socket activation does); connections made before the proxy serves wait in
    its backlog.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do
    try:
        listener.bind((HOST, 0))
        listener.listen(LISTEN_BACKLOG)
    except OSError as exc:
        listener.close()
        raise ContainerStartError(f"cannot bind a port for the proxy on {HOST}: {exc}") from exc
    return listener


def _node_dirs(node: str, node_proxy: Path) -> list[Path]:
    """What a Node.js proxy needs in its sandbox: Node's installation, the proxy, and the
    modules it finds by default (``.services/node_modules`` of a checkout: ``openwhisk`` and
    ``redis``, which Composer's conductor actions require)."""
    services = node_proxy.resolve().parents[2] / ".services" / "node_modules"
    return [node_proxy.parent, Path(node).resolve().parent.parent,
            *([services] if services.is_dir() else [])]
