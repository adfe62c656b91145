"""``edgewhisk controller`` as a child process, ready when it says where it listens.

The controller prints ``APIHOST=<url>`` and ``AUTH=<guest key>`` on stdout once its socket is
open; those lines are read on a thread with a timeout (a controller that hangs while starting
must not hang its caller), and a failed start raises :class:`StartError` with the exit status
and the log. Its state lives in ``--data DIR`` (SQLite, blobs), so a stopped controller can be
started again on the same data (a new port with the default ``port=0``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from signal import SIGTERM, Signals
from types import TracebackType
from urllib.parse import urlsplit

from edgewhisk_client import OWN_NAMESPACE, Client
from edgewhisk_client.transport import TIMEOUT_S

from .exceptions import StartError
from .process import STOP_TIMEOUT_S, Child, children, edgewhisk_command

START_TIMEOUT_S = 60.0
UNLIMITED = ("--invocations-per-minute", "1000000000", "--concurrent-invocations", "1000000000",
             "--fires-per-minute", "1000000000")
"""Options lifting the per-namespace limits (OpenWhisk's 120 invokes and 60 fires a minute,
100 in flight): for load generators, benchmarks and soaks, whose point is more load than one
tenant may make."""


class Controller:
    """``edgewhisk controller [--host H] --port P --data DATA OPTIONS...`` (a context manager).

    ``port`` 0 lets the controller pick a free one (read back from ``APIHOST``); ``cwd`` is
    where it runs (``data`` may then be relative to it); ``env`` adds to this process's
    environment; ``log`` defaults to
    ``DATA-controller.log`` beside the data folder; ``command`` replaces the whole command
    line (e.g. a systemd unit's ``ExecStart``) for a controller started some other way. The
    other options are :class:`Child`'s.
    """

    def __init__(self, data: Path, *options: str, port: int = 0, host: str | None = None,
                 cwd: Path | None = None, env: Mapping[str, str] | None = None,
                 log: Path | None = None, wrap: Sequence[str] = (),
                 own_group: bool = False, cleanup: bool = True,
                 command: Sequence[str] | None = None, start_timeout_s: float = START_TIMEOUT_S,
                 stop_timeout_s: float = STOP_TIMEOUT_S) -> None:
        self.data = data
        folder = data if cwd is None else cwd / data
        if command is None:
            where = ("--host", host) if host else ()
            command = edgewhisk_command("controller", *where, "--port", str(port),
                                        "--data", str(data), *options)
        self.child = Child(command, log or folder.parent / f"{folder.name}-controller.log",
                           cwd=cwd, env=env, wrap=wrap, own_group=own_group, cleanup=cleanup,
                           stop_timeout_s=stop_timeout_s)
        self.start_timeout_s = start_timeout_s
        self.api_host = ""
        self.auth = ""
        self.started_s = 0.0

    def start(self) -> Controller:
        """Start it and wait for ``APIHOST=``/``AUTH=``; :class:`StartError` otherwise."""
        started = time.perf_counter()
        self.child.start()
        if not self.child.wait_for(lambda lines: "AUTH" in _startup(lines),
                                   self.start_timeout_s):
            status = self.child.poll()
            why = (f"exited with status {status}" if status is not None
                   else f"printed no APIHOST/AUTH within {self.start_timeout_s:.0f} s")
            output = list(self.child.lines)
            stopped = self.child.stop()
            raise StartError(f"controller: `edgewhisk controller` {why}", self.log(),
                             status if status is not None else stopped, output)
        found = _startup(self.child.lines)
        self.api_host, self.auth = found.get("APIHOST", ""), found["AUTH"]
        self.started_s = time.perf_counter() - started
        return self

    def __enter__(self) -> Controller:
        return self if self.child.process is not None else self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        return self.child.pid

    @property
    def port(self) -> int:
        return urlsplit(self.api_host).port or 0

    @property
    def log_path(self) -> Path:
        return self.child.log_path

    def log(self) -> str:
        return self.child.log()

    def children(self) -> list[int]:
        """Its child processes now (the process backend's containers)."""
        return children(self.child.pid)

    @property
    def stopped_children(self) -> list[int]:
        """Its child processes when the last stop began (what the stop had to end)."""
        return self.child.stopped_children

    def stop(self, sig: Signals = SIGTERM) -> int | None:
        """``sig`` and wait (it destroys its containers); SIGKILL if it hangs. Its exit
        status (None if it was not running)."""
        return self.child.stop(sig)

    def client(self, auth: str | None = None, *, namespace: str = OWN_NAMESPACE,
               ca_file: str | None = None, timeout_s: float = TIMEOUT_S) -> Client:
        """A client of its API with the guest key (or ``auth``)."""
        return Client(self.api_host, auth or self.auth, namespace=namespace, ca_file=ca_file,
                      timeout_s=timeout_s)


def _startup(lines: list[str]) -> dict[str, str]:
    """The ``KEY=VALUE`` lines it printed on stdout."""
    return dict(line.strip().partition("=")[::2] for line in lines if "=" in line)
