"""A child process that is started with a log and stopped by its pid.

Why one class: the controller, the edge agents and the demo's fleet are all long-running
children that a test, a benchmark or the demo must stop for sure — SIGTERM first (each stops
cleanly: running activations finish, containers are destroyed), SIGKILL only when one hangs —
and whose log is the first thing to read when one misbehaves.

- stdout is read line by line on a thread (``lines``; :meth:`Child.wait_for` waits for one
  that matters, e.g. ``AUTH=`` or ``REGISTERED``) and copied into the log; stderr goes to the
  log directly.
- ``wrap`` prefixes the command (e.g. ``ip netns exec NS``, which execs: same pid).
- ``own_group``: the child leads a process group of its own and signals go to the group.
- ``cleanup``: after a stop that had to SIGKILL, also SIGKILL what the child left (its
  descendants, and the groups of its children: each container proxy leads one). Tests that
  check that nothing leaks turn it off, so that a leak fails them instead of being hidden.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from signal import SIGKILL, SIGTERM, Signals

STOP_TIMEOUT_S = 30.0
READER_JOIN_S = 5.0
"""How long a stop waits for the end of the child's stdout: a leftover that inherited the
pipe keeps it open, and then the reader is left to finish on its own."""


def edgewhisk_command(*args: str) -> list[str]:
    """``edgewhisk ARGS`` with this interpreter (what a user types, without relying on PATH)."""
    return [sys.executable, "-m", "edgewhisk_cli.main", *args]


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (Linux ``/proc``, every thread's; empty elsewhere)."""
    pids: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                pids.extend(int(child) for child in (task / "children").read_text().split())
    return pids


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid``, children first."""
    found: list[int] = []
    todo = [pid]
    while todo:
        below = children(todo.pop())
        found.extend(below)
        todo.extend(below)
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not count)."""
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


class Child:
    """One child process: started with :meth:`start`, stopped (and restartable) with
    :meth:`stop`."""

    def __init__(self, command: Sequence[str], log: Path, *, cwd: Path | None = None,
                 env: Mapping[str, str] | None = None, wrap: Sequence[str] = (),
                 own_group: bool = False, cleanup: bool = True,
                 stop_timeout_s: float = STOP_TIMEOUT_S) -> None:
        self.command = [*wrap, *command]
        self.log_path = log
        self.cwd = cwd
        self.env = None if env is None else {**os.environ, **env}
        self.own_group = own_group
        self.cleanup = cleanup
        self.stop_timeout_s = stop_timeout_s
        self.process: subprocess.Popen[str] | None = None
        self.pid = 0  # kept after the stop, for reports
        self.lines: list[str] = []
        self.stopped_children: list[int] = []  # its children when the stop began
        self._lines_changed = threading.Condition()
        self._reader: threading.Thread | None = None

    def start(self) -> None:
        self.lines = []
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "a") as log:
            self.process = subprocess.Popen(
                self.command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
                cwd=self.cwd, env=self.env, text=True, start_new_session=self.own_group)
        self.pid = self.process.pid
        self._reader = threading.Thread(target=self._read, args=(self.process, self.lines),
                                        daemon=True, name=f"stdout of {self.pid}")
        self._reader.start()

    def _read(self, process: subprocess.Popen[str], lines: list[str]) -> None:
        """Until the end of its stdout: each line into ``lines`` (this run's) and the log."""
        assert process.stdout is not None
        with open(self.log_path, "a") as log, process.stdout:
            for line in process.stdout:
                log.write(line)
                log.flush()
                with self._lines_changed:
                    lines.append(line.rstrip("\n"))
                    self._lines_changed.notify_all()
        with self._lines_changed:
            self._lines_changed.notify_all()

    def wait_for(self, found: Callable[[list[str]], bool], timeout_s: float) -> bool:
        """Until ``found(lines)`` holds (True), or the child ended its stdout or the time ran
        out (False)."""
        deadline = time.monotonic() + timeout_s
        with self._lines_changed:
            while not found(self.lines):
                left = deadline - time.monotonic()
                reading = self._reader is not None and self._reader.is_alive()
                if left <= 0 or not reading:
                    return found(self.lines)
                self._lines_changed.wait(min(left, 0.5))
        return True

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def poll(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def signal(self, sig: Signals) -> None:
        """Send ``sig`` (to its group with ``own_group``) without waiting."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                if self.own_group:
                    os.killpg(self.pid, sig)
                else:
                    self.process.send_signal(sig)

    def wait_exit(self, timeout_s: float | None = None) -> int:
        assert self.process is not None
        return self.process.wait(self.stop_timeout_s if timeout_s is None else timeout_s)

    def terminate(self, sig: Signals = SIGTERM) -> None:
        """The first half of :meth:`stop`: note its children, send ``sig``."""
        if self.process is not None and self.process.poll() is None:
            self.stopped_children = children(self.pid)
            self.signal(sig)

    def stop(self, sig: Signals = SIGTERM) -> int | None:
        """``sig`` (SIGTERM) and wait; SIGKILL if it hangs (and with ``cleanup`` what it
        left). Its exit status; None if it was not running. Idempotent."""
        self.terminate(sig)
        return self.wait_stopped()

    def wait_stopped(self) -> int | None:
        """The second half of :meth:`stop`: wait, SIGKILL on a hang, close its pipes."""
        process, self.process = self.process, None
        if process is None:
            return None
        try:
            process.wait(self.stop_timeout_s)
        except subprocess.TimeoutExpired:
            left = descendants(self.pid) if self.cleanup else []
            _kill([] if self.own_group else [self.pid], [self.pid] if self.own_group else [])
            process.wait(self.stop_timeout_s)
            if self.cleanup:
                _kill(left, self.stopped_children)
        if self.cleanup and self.own_group:  # whatever it left in its group goes with it
            _kill([], [self.pid])
        if self._reader is not None:
            self._reader.join(READER_JOIN_S)  # it closes the pipe when it ends
        return process.returncode


def _kill(pids: Sequence[int], groups: Sequence[int]) -> None:
    """SIGKILL each pid and each process group, whichever are still there."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, SIGKILL)
    for group in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, SIGKILL)
