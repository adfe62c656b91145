"""The proxy's handle on the action process: spawn, handshake, one call per activation, kill.

Why asyncio pipes and one long-lived child: a warm /run costs one line written and one line
read on two pipes (no thread, no process start, no task per call: replies are routed by a
pipe protocol to the one pending future), and the event loop stays free to notice that the
child died or overran its deadline. The child runs in its own session so the proxy can kill
it together with anything it started (``killpg`` on its pid).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from edgewhisk_runtime import logs
from edgewhisk_runtime.environment import allowed
from edgewhisk_runtime.exceptions import (
    ActionExited,
    ActionGone,
    ActionStartError,
    DeadlineExceeded,
)

# How long an action may spend importing before /init gives up.
DEFAULT_START_TIMEOUT = 300.0
EXIT_GRACE_S = 0.2


def child_environment(init_env: dict[str, str]) -> dict[str, str]:
    """The allow-listed part of the proxy's environment (``environment.allowed``) plus the
    init ``env``: visible before the action is imported, and nothing else of the host's."""
    env = allowed(os.environ)
    env.update(init_env)
    env["PYTHONIOENCODING"] = "UTF-8"
    return env


class _Replies(asyncio.Protocol):
    """Reads the reply pipe and hands each complete line to the one waiting call."""

    def __init__(self) -> None:
        self.partial: list[bytes] = []
        self.lines: list[bytes] = []
        self.waiter: asyncio.Future[bytes] | None = None
        self.closed = False

    def data_received(self, data: bytes) -> None:  # type: ignore[override]
        while (end := data.find(b"\n")) >= 0:
            self.partial.append(data[:end + 1])
            self._deliver(b"".join(self.partial))
            self.partial = []
            data = data[end + 1:]
        if data:
            self.partial.append(data)

    def _deliver(self, line: bytes) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(line)
        else:
            self.lines.append(line)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ActionExited())

    def wait(self, loop: asyncio.AbstractEventLoop) -> asyncio.Future[bytes]:
        self.waiter = loop.create_future()
        if self.lines:
            self.waiter.set_result(self.lines.pop(0))
        elif self.closed:
            self.waiter.set_exception(ActionExited())
        return self.waiter


class ActionProcess:
    """One action child process, started by :meth:`start` and reused for every activation."""

    def __init__(self, action_dir: Path, entry: str, env: dict[str, str]) -> None:
        self.action_dir = action_dir
        self.entry = entry
        self.env = env
        self.annotation: dict[str, Any] | None = None
        self.pid: int | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._replies = _Replies()
        self._read_transport: asyncio.BaseTransport | None = None
        self._write_transport: asyncio.WriteTransport | None = None
        self._exited: asyncio.Task[int] | None = None
        self._lock = asyncio.Lock()

    @property
    def exit_code(self) -> int | None:
        """The child's exit status once it has exited (negative: killed by that signal)."""
        return self._proc.returncode if self._proc is not None else None

    @property
    def alive(self) -> bool:
        return self._exited is not None and not self._exited.done()

    async def start(self, timeout: float = DEFAULT_START_TIMEOUT) -> None:
        """Spawn the launcher and wait for its handshake; raise ActionStartError otherwise."""
        loop = asyncio.get_running_loop()
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        try:
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "edgewhisk_runtime.launcher",
                str(self.action_dir), self.entry, str(req_r), str(rep_w),
                stdin=asyncio.subprocess.DEVNULL, stdout=None, stderr=None,
                pass_fds=(req_r, rep_w), cwd=self.action_dir, env=self.env,
                start_new_session=True,
            )
        finally:
            os.close(req_r)
            os.close(rep_w)
        self.pid = self._proc.pid
        self._exited = asyncio.ensure_future(self._proc.wait())
        # The reply pipe's end-of-file normally reports the exit, after the last reply is read;
        # the exit itself counts too (a process it started may hold the pipe open), a little
        # later so that a reply written just before exiting is still read first.
        self._exited.add_done_callback(
            lambda _: loop.call_later(EXIT_GRACE_S, self._replies.connection_lost, None))
        self._read_transport, _ = await loop.connect_read_pipe(
            lambda: self._replies, os.fdopen(rep_r, "rb", 0))
        self._write_transport, _ = await loop.connect_write_pipe(
            asyncio.Protocol, os.fdopen(req_w, "wb", 0))
        try:
            line = await self._read_line(time.monotonic() + timeout)
        except DeadlineExceeded:
            await self.kill()
            raise ActionStartError(
                "Cannot start action: the action did not start in time.") from None
        except ActionExited as exc:
            logs.stderr("Command exited abruptly during initialization.")
            raise ActionStartError(
                "Cannot start action: command exited abruptly during initialization"
                f"{_describe_exit(self.exit_code)}. Check logs for details.") from exc
        ack = json.loads(line)
        if not ack.get("ok"):
            await self.kill()
            raise ActionStartError(ack.get("error") or ActionStartError.default_message)
        self.annotation = ack.get("annotation")

    async def call(self, message: dict[str, Any], deadline: float | None) -> dict[str, Any]:
        """Send one activation, return the launcher's reply; ``deadline`` is time.monotonic()."""
        async with self._lock:
            if not self.alive or self._write_transport is None:
                raise ActionGone(f"command exited{_describe_exit(self.exit_code)}")
            self._write_transport.write(json.dumps(message).encode() + b"\n")
            try:
                line = await self._read_line(deadline)
            except DeadlineExceeded:
                await self.kill()
                raise
            return json.loads(line)  # type: ignore[no-any-return]

    async def _read_line(self, deadline: float | None) -> bytes:
        """Next reply line; ActionExited if the child dies, DeadlineExceeded at ``deadline``.

        asyncio's loop clock is time.monotonic(), so the deadline is a loop.call_at instant.
        """
        loop = asyncio.get_running_loop()
        waiter = self._replies.wait(loop)
        timer = None
        if deadline is not None and not waiter.done():
            timer = loop.call_at(deadline, _expire, waiter)
        try:
            return await waiter
        except ActionExited:
            await self._wait_exit(1.0)
            raise ActionExited(f"command exited{_describe_exit(self.exit_code)}") from None
        finally:
            if timer is not None:
                timer.cancel()

    async def _wait_exit(self, timeout: float) -> None:
        if self._exited is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._exited), timeout)

    async def kill(self) -> None:
        """Kill the action and everything it started (its session), idempotently."""
        if self.pid is not None and self.alive:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
            await self._wait_exit(5.0)
        for transport in (self._write_transport, self._read_transport):
            if transport is not None:
                transport.close()
        self._write_transport = self._read_transport = None


def _expire(waiter: asyncio.Future[bytes]) -> None:
    if not waiter.done():
        waiter.set_exception(DeadlineExceeded())


def _describe_exit(code: int | None) -> str:
    if code is None:
        return ""
    if code < 0:
        with contextlib.suppress(ValueError):
            return f" (killed by {signal.Signals(-code).name})"
    return f" (exit status {code})"
