"""The agent's log streams (``logstream.LogStreams``) on one connection: a stream that ends on
its own is forgotten, so a connection that lasts for weeks does not keep one per log request."""

from __future__ import annotations

import asyncio
import logging

from edgewhisk_invoker.logstream import LogRing, LogStreams
from edgewhisk_tunnel import AgentLog, AgentLogs, Message

REQUESTS = 50


def test_streams_that_ended_are_forgotten() -> None:
    """REQUESTS log requests without ``follow`` (each answered and ended, as the controller
    expects: it sends no ``stop`` after an end) leave no stream behind; one that follows stays
    until stopped."""
    ring = LogRing()
    logger = logging.getLogger("test_logstream")
    logger.addHandler(ring)
    sent: list[AgentLog] = []

    async def send(message: Message) -> bool:
        assert isinstance(message, AgentLog)
        sent.append(message)
        return True

    async def main() -> tuple[int, int, int]:
        logger.warning("a line to read")
        streams = LogStreams(ring, send)
        for n in range(REQUESTS):
            streams.handle(AgentLogs(f"s{n}", after=-1, tail=1))
        streams.handle(AgentLogs("follower", after=-1, tail=1, follow=True))
        while sum(m.end for m in sent) < REQUESTS:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0)  # the ended tasks' callbacks
        following = len(streams)
        streams.handle(AgentLogs("follower", stop=True))
        await asyncio.sleep(0)
        stopped = len(streams)
        streams.close()
        return following, stopped, sum(m.stream_id == "s0" for m in sent)

    try:
        following, stopped, frames = asyncio.run(main())
    finally:
        logger.removeHandler(ring)
    assert (following, stopped) == (1, 0)
    assert frames == 2  # s0's line, then its end
