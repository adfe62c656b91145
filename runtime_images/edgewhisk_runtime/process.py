"""The proxy's handle on the action process: spawn, handshake, one call per activation, kill.

Why asyncio pipes and one long-lived child: a warm /run costs one line written and one line
read on two pipes (no thread, no process start), and the event loop stays free to notice
that the child died or overran its deadline. The child runs in its own session so the proxy
can kill it together with anything it started (``killpg`` on its pid).
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
from edgewhisk_runtime.exceptions import (
    ActionExited,
    ActionStartError,
    DeadlineExceeded,
)

# Replies may carry a whole result (the 1 MiB OpenWhisk limit and then some).
READ_LIMIT = 256 * 1024 * 1024
# How long an action may spend importing before /init gives up.
DEFAULT_START_TIMEOUT = 300.0


def child_environment(init_env: dict[str, str]) -> dict[str, str]:
    """The proxy's environment plus the init ``env``: visible before the action is imported."""
    env = dict(os.environ)
    env.update(init_env)
    env["PYTHONIOENCODING"] = "UTF-8"
    env.pop("PYTHONSTARTUP", None)
    return env


class ActionProcess:
    """One action child process, started by :meth:`start` and reused for every activation."""

    def __init__(self, action_dir: Path, entry: str, env: dict[str, str]) -> None:
        self.action_dir = action_dir
        self.entry = entry
        self.env = env
        self.annotation: dict[str, Any] | None = None
        self.pid: int | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.StreamReader | None = None
        self._read_transport: asyncio.BaseTransport | None = None
        self._writer: asyncio.StreamWriter | None = None
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
        reader = self._reader = asyncio.StreamReader(limit=READ_LIMIT)
        self._read_transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(rep_r, "rb", 0))
        transport, protocol = await loop.connect_write_pipe(
            lambda: asyncio.streams.FlowControlMixin(), os.fdopen(req_w, "wb", 0))
        self._writer = asyncio.StreamWriter(transport, protocol, None, loop)
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
        if not self.alive or self._writer is None:
            raise ActionExited()
        async with self._lock:
            self._writer.write(json.dumps(message).encode() + b"\n")
            try:
                line = await self._read_line(deadline)
            except DeadlineExceeded:
                await self.kill()
                raise
            return json.loads(line)

    async def _read_line(self, deadline: float | None) -> bytes:
        """Next reply line, racing the child's exit and the deadline."""
        assert self._reader is not None and self._exited is not None
        read = asyncio.ensure_future(self._reader.readline())
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        done, _ = await asyncio.wait(
            (read, self._exited), timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if read in done and read.result().endswith(b"\n"):
            return read.result()
        read.cancel()
        if self._exited in done or read in done:
            await self._wait_exit(1.0)
            raise ActionExited(f"command exited{_describe_exit(self.exit_code)}")
        raise DeadlineExceeded()

    async def _wait_exit(self, timeout: float) -> int | None:
        assert self._exited is not None
        with contextlib.suppress(asyncio.TimeoutError):
            return await asyncio.wait_for(asyncio.shield(self._exited), timeout)
        return None

    async def kill(self) -> None:
        """Kill the action and everything it started (its session), idempotently."""
        if self.pid is not None and self.alive:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
            await self._wait_exit(5.0)
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._read_transport is not None:
            self._read_transport.close()
            self._read_transport = None


def _describe_exit(code: int | None) -> str:
    if code is None:
        return ""
    if code < 0:
        with contextlib.suppress(ValueError):
            return f" (killed by {signal.Signals(-code).name})"
    return f" (exit status {code})"
