"""The agent's own log, streamed to the controller on request (``agent.logs``/``agent.log``).

Why in memory and numbered: an operator reads a device's log without a shell on the device
(``edgewhisk invoker logs ID --follow``); the device dials out, so the lines travel through
the tunnel. ``LogRing`` is a ``logging.Handler`` keeping the last ``KEEP`` lines, each with a
sequence number; a stream the controller opens sends the lines above its ``after`` (the last
``tail`` of them), then, when following, each new one. A connection that drops ends its
streams here; the controller opens them again after the reconnect with the number of the
last line it passed on, so a follower sees every kept line once, in order.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
import threading
import time
from collections.abc import Awaitable, Callable

from edgewhisk_tunnel import AGENT_LOG_LINE_BYTES, AGENT_LOG_LINES, AgentLog, AgentLogs, Message

KEEP = 5000
"""Lines of the agent's log kept for streams (older ones are gone)."""
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

Send = Callable[[Message], Awaitable[bool]]


class LogRing(logging.Handler):
    """The last ``keep`` formatted lines, numbered; thread-safe (actions' staging threads log
    too); ``listeners`` are called (on their loop) when a line arrives.

    Numbers start at the process's start time in microseconds, so that an agent restarted
    under the same id numbers its lines above its predecessor's (a reader reopened after the
    restart gets the new process's lines, not nothing); within 2**53, as JSON needs."""

    def __init__(self, keep: int = KEEP) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter(FORMAT))
        self._lines: collections.deque[str] = collections.deque(maxlen=keep)
        self._next = time.time_ns() // 1000  # the number the next line gets (see below)
        self._lock = threading.Lock()
        self.listeners: dict[object, tuple[asyncio.AbstractEventLoop, Callable[[], None]]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)[:AGENT_LOG_LINE_BYTES]
        except Exception:  # a broken record must not break the agent
            self.handleError(record)
            return
        with self._lock:
            self._lines.append(line)
            self._next += 1
            listeners = list(self.listeners.values())
        for loop, wake in listeners:
            try:
                loop.call_soon_threadsafe(wake)
            except RuntimeError:  # its loop closed
                pass

    def after(self, after: int, tail: int | None = None) -> tuple[int, list[str]]:
        """(number of the first line returned, the kept lines numbered above ``after``, the
        last ``tail`` of them when given)."""
        with self._lock:
            oldest = self._next - len(self._lines)
            start = max(after + 1, oldest)
            if tail is not None:
                start = max(start, self._next - tail)
            return start, list(self._lines)[start - oldest:]


class LogStreams:
    """The streams the controller opened on one connection."""

    def __init__(self, ring: LogRing, send: Send) -> None:
        self.ring = ring
        self.send = send
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def handle(self, message: AgentLogs) -> None:
        """Open (or reopen) or stop the stream ``message`` names."""
        old = self._tasks.pop(message.stream_id, None)
        if old is not None:
            old.cancel()
        if not message.stop:
            task = self._tasks[message.stream_id] = asyncio.get_running_loop().create_task(
                self._stream(message))
            task.add_done_callback(functools.partial(self._ended, message.stream_id))

    def _ended(self, stream_id: str, task: asyncio.Task[None]) -> None:
        """A stream ended on its own (not following, or its send failed): forgotten. The
        controller sends no ``stop`` for a stream that sent its end, so it stayed until the
        connection closed, one per log request (``edgewhisk invoker logs``)."""
        if self._tasks.get(stream_id) is task:
            del self._tasks[stream_id]

    def __len__(self) -> int:
        """The streams open now."""
        return len(self._tasks)

    async def _stream(self, message: AgentLogs) -> None:
        woken = asyncio.Event()
        self.ring.listeners[woken] = (asyncio.get_running_loop(), woken.set)
        try:
            last = await self._send_after(message.stream_id, message.after, message.tail)
            while message.follow:
                await woken.wait()
                woken.clear()
                last = await self._send_after(message.stream_id, last, None)
            await self.send(AgentLog(message.stream_id, max(0, last + 1), (), end=True))
        finally:
            self.ring.listeners.pop(woken, None)

    async def _send_after(self, stream_id: str, after: int, tail: int | None) -> int:
        """Send the lines above ``after`` in frames; the number of the last one sent."""
        first, lines = self.ring.after(after, tail)
        for at in range(0, len(lines), AGENT_LOG_LINES):
            batch = tuple(lines[at:at + AGENT_LOG_LINES])
            await self.send(AgentLog(stream_id, first + at, batch))
        return first + len(lines) - 1 if lines else after

    def close(self) -> None:
        """The connection is gone: its streams end (the controller reopens them)."""
        for task in self._tasks.values():
            task.cancel()
        self._tasks.clear()
