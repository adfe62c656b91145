"""Per-activation logs from a container's two output streams, cut at the sentinel lines.

Why this shape: the runtime writes ``XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX`` once on stdout and
once on stderr after every activation (and after a failed /init), so the invoker can cut the
container's continuous output into activations without asking the action. A backend feeds raw
bytes as they arrive (asyncio pipes for processes, a thread per stream for containers) with the
time they arrived; :meth:`LogCollector.collect` hands out the next segment of both streams,
merged in time order and formatted as upstream's ``LogLine.toFormattedString`` (the text is
trimmed, as upstream trims it).

Upstream behaviour kept (apache/openwhisk ``DockerContainer.logs``): the size limit counts each
line plus its newline, and past it the logs end with a stderr line ``Messages.truncateLogs``;
when the sentinels do not come in time the logs end with ``Messages.logFailure``. Output written
between activations (init output, a background thread) belongs to the next activation.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field

from edgewhisk_runtime.logs import SENTINEL

STREAMS = ("stdout", "stderr")
# A line longer than this is cut into pieces rather than buffered without bound.
MAX_LINE_BYTES = 1024 * 1024
# Upstream's Messages.truncateLogs and Messages.logFailure, verbatim.
TRUNCATED = "Logs were truncated because the total bytes size exceeds the limit of {limit} bytes."
LOG_FAILURE = "There was an issue while collecting your logs. Data might be missing."


@dataclass(frozen=True)
class LogLine:
    time_ns: int
    stream: str
    text: str

    def format(self) -> str:
        """``2026-11-27T09:00:00.123456Z stdout: text`` (UTC, microseconds)."""
        return f"{format_time(self.time_ns)} {self.stream}: {self.text.strip()}"


def format_time(time_ns: int) -> str:
    seconds, rest = divmod(time_ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{rest // 1000:06d}Z"


@dataclass
class Collected:
    """One activation's formatted lines; ``complete`` is False when a sentinel never came."""

    lines: list[str]
    complete: bool


@dataclass
class _Stream:
    partial: bytearray = field(default_factory=bytearray)
    partial_ns: int = 0
    current: list[LogLine] = field(default_factory=list)
    segments: deque[list[LogLine]] = field(default_factory=deque)
    eof: bool = False


class LogCollector:
    """The two streams of one container, split into lines and into per-activation segments.

    ``feed``/``end`` must be called on the event loop's thread (threads use
    ``loop.call_soon_threadsafe``); ``collect`` calls are served one at a time, in call order.
    """

    def __init__(self) -> None:
        self._streams = {name: _Stream() for name in STREAMS}
        self._changed = asyncio.Event()
        self._lock = asyncio.Lock()
        self.seen_sentinel = False

    def feed(self, stream: str, data: bytes, time_ns: int | None = None) -> None:
        """Bytes that arrived on ``stream`` at ``time_ns`` (default: now)."""
        s = self._streams[stream]
        now = time.time_ns() if time_ns is None else time_ns
        start = 0
        while True:
            end = data.find(b"\n", start)
            if end < 0:
                break
            if not s.partial:
                s.partial_ns = now
            s.partial += data[start:end]
            self._line(s, stream)
            start = end + 1
        if start < len(data):
            if not s.partial:
                s.partial_ns = now
            s.partial += data[start:]
            if len(s.partial) > MAX_LINE_BYTES:
                self._line(s, stream)
        self._changed.set()

    def end(self, stream: str) -> None:
        """The stream is closed (process or container gone): no sentinel will come any more."""
        s = self._streams[stream]
        if s.partial:
            self._line(s, stream)
        s.eof = True
        self._changed.set()

    @property
    def closed(self) -> bool:
        return all(s.eof for s in self._streams.values())

    def _line(self, s: _Stream, stream: str) -> None:
        text = s.partial.decode("utf-8", "replace")
        s.partial.clear()
        at = text.find(SENTINEL)
        if at < 0:
            s.current.append(LogLine(s.partial_ns, stream, text))
            return
        if text[:at].strip():  # output without a newline just before the sentinel
            s.current.append(LogLine(s.partial_ns, stream, text[:at]))
        s.segments.append(s.current)
        s.current = []
        self.seen_sentinel = True

    def _ready(self) -> bool:
        return all(s.segments or s.eof for s in self._streams.values())

    async def collect(self, *, limit_bytes: int, timeout: float,
                      sentinels: bool = True) -> Collected:
        """The next activation's lines: up to the next sentinel on each stream.

        Waits at most ``timeout`` seconds for both sentinels (or the streams' end); a stream
        without its sentinel by then gives what it has and, if ``sentinels`` were expected, the
        logs end with the failure notice and are not ``complete``.
        """
        async with self._lock:
            deadline = time.monotonic() + timeout
            while not self._ready():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.clear()
                try:  # asyncio.timeout, not wait_for: no task made per wait on the hot path
                    async with asyncio.timeout(remaining):
                        await self._changed.wait()
                except TimeoutError:
                    break
            complete = True
            taken: list[LogLine] = []
            for s in self._streams.values():
                if s.segments:
                    taken += s.segments.popleft()
                else:
                    taken += s.current
                    s.current = []
                    complete = complete and (s.eof or not sentinels)
            taken.sort(key=lambda line: line.time_ns)
            lines = _limited(taken, limit_bytes)
            if not complete:
                lines.append(LogLine(time.time_ns(), "stderr", LOG_FAILURE).format())
            return Collected(lines, complete)


def _limited(taken: list[LogLine], limit_bytes: int) -> list[str]:
    """Formatted lines up to ``limit_bytes`` (each line's bytes plus its newline), as upstream."""
    lines: list[str] = []
    used = 0
    for line in taken:
        used += len(line.text.encode("utf-8", "replace")) + 1
        if used > limit_bytes:
            notice = TRUNCATED.format(limit=limit_bytes)
            lines.append(LogLine(time.time_ns(), "stderr", notice).format())
            break
        lines.append(line.format())
    return lines
