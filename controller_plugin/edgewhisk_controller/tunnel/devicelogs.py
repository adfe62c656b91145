"""Readers of a device's own log, kept across the device's reconnects (``agent.logs``).

Why here and not per connection: ``edgewhisk invoker logs ID --follow`` is one HTTP answer
that must outlive a dropped tunnel. Each reader is a ``LogReader`` with the number of the
last line it received (``after``); when the device registers again, every open reader's
stream is reopened from there (``reopen``), so lines are neither repeated nor skipped (the
agent numbers them; a line it no longer keeps is gone). A device that goes offline ends its
readers.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable

from edgewhisk_tunnel import AgentLog, AgentLogs, Message

REOPEN_TAIL = 1_000_000
"""``tail`` of a reopened stream: every kept line above ``after``."""
END = None

Send = Callable[[Message], Awaitable[bool]]
_ids = itertools.count(1)


class LogReader:
    """One reader: batches of lines arrive in ``queue``; ``END`` (None) ends it."""

    def __init__(self, tail: int, follow: bool) -> None:
        self.stream_id = f"log{next(_ids)}"
        self.tail, self.follow = tail, follow
        self.after = -1  # the number of the last line received
        self.queue: asyncio.Queue[list[str] | None] = asyncio.Queue()

    def request(self) -> AgentLogs:
        """The ``agent.logs`` that (re)opens this reader's stream."""
        tail = self.tail if self.after < 0 else REOPEN_TAIL
        return AgentLogs(self.stream_id, after=self.after, tail=tail, follow=self.follow)


class DeviceLogs:
    """The readers of one device's log."""

    def __init__(self) -> None:
        self.readers: dict[str, LogReader] = {}

    async def open(self, tail: int, follow: bool, send: Send) -> LogReader:
        """A new reader; its stream opens now if the device is connected (``send`` is
        False when not), else when it registers again (a follower waits for that)."""
        reader = LogReader(tail, follow)
        self.readers[reader.stream_id] = reader
        await send(reader.request())
        return reader

    async def close(self, reader: LogReader, send: Send) -> None:
        """The reader went away (its HTTP client hung up, or its stream ended)."""
        if self.readers.pop(reader.stream_id, None) is not None:
            await send(AgentLogs(reader.stream_id, stop=True))

    def received(self, message: AgentLog) -> None:
        """Lines of a stream: passed on once each (a reopened stream may repeat none)."""
        reader = self.readers.get(message.stream_id)
        if reader is None:
            return  # closed meanwhile: the agent stops when told
        fresh = list(message.lines[max(0, reader.after + 1 - message.first):])
        if fresh:
            reader.after = message.first + len(message.lines) - 1
            reader.queue.put_nowait(fresh)
        if message.end:
            self.readers.pop(message.stream_id, None)
            reader.queue.put_nowait(END)

    async def reopen(self, send: Send) -> None:
        """The device registered again: every reader's stream resumes after its last line."""
        for reader in list(self.readers.values()):
            await send(reader.request())

    def end_all(self) -> None:
        """The device is offline or gone: every reader ends."""
        for reader in self.readers.values():
            reader.queue.put_nowait(END)
        self.readers.clear()
