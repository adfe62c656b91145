"""Tenant sharding of invokes (``--cluster-shard``): an invoke of a namespace that another
live controller owns (``ring.py``) is handed to that controller whole, over HTTP, and its
answer passed back as it is.

Why the whole request and not only the decision: the owner then places every activation of
its namespaces on its own view, so its placements on the devices it holds need no claim and
its claims on others' devices race only with other namespaces' owners (``bench/scale.py``
measures the conflict rate with and without); and the client sees the owner's answer byte
for byte (status, headers, record shape), as if the load balancer had picked the owner. Why
HTTP and not the Redis routing: an invoke's answer is an HTTP answer (202, 200, 502 with a
record, 4xx errors), the owner's own handlers produce it, and nothing is re-encoded.

An owner that cannot be reached (it died; the ring follows within a membership period) leaves
the invoke to this controller when the request never left (connection refused): placing it
here is as correct, only not sharded. One that broke off after the request was sent may have
accepted it, so the client is told (503) rather than the invoke run twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Mapping
from dataclasses import dataclass

import aiohttp

from ..exceptions import ServiceUnavailable

FORWARDED = "X-Edgewhisk-Forwarded-By"
"""Set on an invoke handed to its owner: the owner handles it, never hands it on."""
HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "trailer",
                 "proxy-authorization", "proxy-authenticate", "host"})
"""Request headers of this hop alone (RFC 9110 7.6.1): every other one goes to the owner as
the client sent it (the key, the body's type and length, the caller's site for placement)."""
DROPPED = HOP | {"content-length", "date", "server"}
"""Answer headers not passed back: the hop's own (aiohttp sets them again for the client). The
body is passed as it came (not decompressed), with its ``Content-Encoding``."""
TIMEOUT_S = 75.0  # a blocking invoke waits at most 60 s, then answers 202


@dataclass(frozen=True)
class Answer:
    """The owner's answer, to pass back as it is."""

    status: int
    headers: dict[str, str]
    body: bytes


class Sharding:
    def __init__(self, me: str) -> None:
        self.me = me
        self.sent = 0  # invokes handed to their owner
        self.received = 0  # invokes other controllers handed here
        self._session: aiohttp.ClientSession | None = None

    async def forward(self, owner: str, url: str, path_qs: str, headers: Mapping[str, str],
                      body: AsyncIterable[bytes]) -> Answer | None:
        """Hand the invoke to ``owner`` at ``url``, its body streamed from ``body``; its
        answer, or None if it never got there (then place it here: a refused connection
        happens before the first byte of ``body`` is read, which is left to the handler)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=TIMEOUT_S), auto_decompress=False)
        sent = {name: value for name, value in headers.items() if name.lower() not in HOP}
        sent[FORWARDED] = self.me
        try:
            async with self._session.post(url + path_qs, data=body, headers=sent) as response:
                answer = Answer(response.status,
                                {k: v for k, v in response.headers.items()
                                 if k.lower() not in DROPPED},
                                await response.read())
        except aiohttp.ClientConnectorError:
            return None  # it never left: not sharded, as correct
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ServiceUnavailable(f"the controller owning the namespace ({owner}) did not "
                                   f"answer: {exc or type(exc).__name__}") from None
        self.sent += 1
        return answer

    async def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()
