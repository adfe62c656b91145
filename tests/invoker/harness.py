"""A real agent process (``edgewhisk invoker ...``) for the functional tests.

stdout lines (``REGISTERED ...``) are collected by a reader thread, stderr goes to a log file
shown on failures; the process is stopped by its pid (SIGTERM, then SIGKILL) and its
descendants (the process backend's proxies and actions) are listed from /proc so a test can
check that none is left behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

from controller.api.harness import edgewhisk

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 60.0
HELLO = "def main(args):\n    print('hello from', args.get('name'))\n" \
        "    return {'greeting': 'hello ' + args.get('name', '?')}\n"


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (children files of all its threads, recursively)."""
    found: list[int] = []
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            tasks = list(Path(f"/proc/{current}/task").iterdir())
        except FileNotFoundError:
            continue
        for task in tasks:
            try:
                children = [int(c) for c in (task / "children").read_text().split()]
            except FileNotFoundError:
                continue
            found.extend(children)
            todo.extend(children)
    return found


def alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    try:
        return "State:\tZ" not in status.read_text()
    except FileNotFoundError:
        return False


class AgentProcess:
    def __init__(self, log_dir: Path, controller: str, token: str, *flags: str,
                 env: dict[str, str] | None = None) -> None:
        self.args = edgewhisk("invoker", "--controller", controller, "--token", token, *flags)
        self.log_path = log_dir / f"agent-{time.monotonic_ns()}.log"
        self.env = env
        self.lines: list[str] = []
        self.process: subprocess.Popen[str] | None = None
        self._cond = threading.Condition()
        self._reader: threading.Thread | None = None

    def start(self) -> AgentProcess:
        with open(self.log_path, "a") as err:
            self.process = subprocess.Popen(
                self.args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err,
                text=True, env={**os.environ, **(self.env or {})})
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def wait_registered(self, count: int = 1, timeout: float = START_TIMEOUT_S) -> str:
        """Block until the agent printed its ``count``-th REGISTERED line; that line."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                registered = [line for line in self.lines if line.startswith(
                    ("REGISTERED ", '{"event": "registered"'))]
                if len(registered) >= count:
                    return registered[count - 1]
                left = deadline - time.monotonic()
                exited = self.process is not None and self.process.poll() is not None
                if left <= 0 or exited:
                    raise AssertionError(f"the agent did not register ({count}):\n{self.log()}")
                self._cond.wait(min(left, 0.5))

    def wait_log(self, text: str, timeout: float = START_TIMEOUT_S) -> None:
        """Poll the agent's stderr log until it contains ``text``."""
        deadline = time.monotonic() + timeout
        while text not in self.log():
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not in the agent's log:\n{self.log()}")
            time.sleep(0.05)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int | None:
        """``sig``, wait; SIGKILL if it hangs (its descendants too). The exit code."""
        process, self.process = self.process, None
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                for pid in descendants(process.pid):
                    _kill(pid)
                process.kill()
                process.wait(STOP_TIMEOUT_S)
        if self._reader is not None:
            self._reader.join(10)
        if process.stdout is not None:
            process.stdout.close()
        return process.returncode

    def signal(self, sig: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    def wait_exit(self, timeout: float = STOP_TIMEOUT_S) -> int:
        assert self.process is not None
        return self.process.wait(timeout)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
