"""``redis-server`` as a child process on a free loopback port, for Composer's ``parallel`` and
``map`` (their conductors keep branch results in Redis until the join).

Why here: Redis is a service the tests and the demo start like the controller and the agents
(one launcher, stopped by its pid, its log kept for a failed start's message). It keeps nothing
on disk (``--save ""``, no append-only file): a composition's keys live only while it runs,
and :meth:`Redis.keys` lets a test check that Composer deleted them. It asks for a password
(a random one, in :attr:`Redis.uri`): Redis refuses connections from other hosts without one
(its protected mode), and conductors on edge devices behind a NAT connect from other hosts.
"""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from .exceptions import StartError
from .process import Child

START_TIMEOUT_S = 20.0
READY = "Ready to accept connections"
ATTEMPTS = 3  # a free port can be taken between choosing it and redis binding it


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class Redis:
    """``redis-server`` listening on ``host`` (a context manager); ``uri`` once started.

    ``wrap`` prefixes the command (``ip netns exec NS``), as for the controller; ``host`` is
    the address it binds and the URI names (one a network namespace's agents reach); ``port``
    0 picks a free one here, which only works for an address of this network namespace (in
    another, pick it there and pass it)."""

    def __init__(self, folder: Path, *, host: str = "127.0.0.1", port: int = 0,
                 wrap: Sequence[str] = ()) -> None:
        self.folder = folder
        self.host = host
        self.wrap = tuple(wrap)
        self.given_port = port
        self.port = port
        self.password = secrets.token_hex(16)
        self.pid = 0  # kept after the stop, for reports
        self.child: Child | None = None

    @property
    def uri(self) -> str:
        """``redis://:PASSWORD@HOST:PORT``, what Composer's ``$composer.redis.uri`` takes."""
        return f"redis://:{self.password}@{self.host}:{self.port}"

    def start(self) -> Redis:
        """Start it and wait until it accepts connections; :class:`StartError` otherwise."""
        server = shutil.which("redis-server")
        if server is None:
            raise StartError("redis: redis-server is not installed (Debian's redis-server "
                             "package; runtime_images/host-setup.sh installs it)")
        self.folder.mkdir(parents=True, exist_ok=True)
        for _ in range(1 if self.given_port else ATTEMPTS):
            self.port = self.given_port or _free_port(self.host)
            child = Child([server, "--bind", self.host, "--port", str(self.port), "--save", "",
                           "--appendonly", "no", "--dir", str(self.folder),
                           "--requirepass", self.password],
                          self.folder / "redis.log", wrap=self.wrap)
            child.start()
            if child.wait_for(lambda lines: any(READY in line for line in lines),
                              START_TIMEOUT_S):
                self.child, self.pid = child, child.pid
                return self
            status = child.poll()
            child.stop()
            if status is None:  # it hung rather than failed to bind: trying again won't help
                break
        raise StartError(f"redis: redis-server did not start on {self.host}",
                         (self.folder / "redis.log").read_text(errors="replace"))

    def keys(self) -> list[str]:
        """Every key it holds now (``redis-cli --scan``): what a finished composition left."""
        cli = shutil.which("redis-cli") or "redis-cli"
        out = subprocess.run([*self.wrap, cli, "-h", self.host, "-p", str(self.port),
                              "--no-auth-warning", "-a", self.password, "--scan"],
                             check=True, capture_output=True, text=True, timeout=30)
        return sorted(line for line in out.stdout.splitlines() if line)

    def stop(self) -> int | None:
        """SIGTERM and wait (SIGKILL if it hangs); idempotent."""
        child, self.child = self.child, None
        return None if child is None else child.stop()

    def __enter__(self) -> Redis:
        return self if self.child is not None else self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()
