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

The same client relays what only one other controller can answer (a peer's device's own log,
``api/invokers.py``; the cancel of an activation pending there, ``api/activations.py``):
:meth:`Sharding.relay` streams its answer back.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from dataclasses import dataclass

import aiohttp

from ..exceptions import ServiceUnavailable

FORWARDED = "X-Edgewhisk-Forwarded-By"
"""Set on a request handed to another controller (an invoke to its namespace's owner, a read
relayed to a device's holder): that controller handles it, never hands it on."""
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
        try:
            async with self._client().post(url + path_qs, data=body,
                                           headers=self._sent(headers)) as response:
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

    @contextlib.asynccontextmanager
    async def relay(self, holder: str, url: str, path_qs: str, headers: Mapping[str, str],
                    method: str = "GET") -> AsyncIterator[aiohttp.ClientResponse]:
        """``method path_qs`` (no body) of controller ``holder`` at ``url`` with the caller's
        headers (its key), its answer streamed as it comes (a followed log has no end: no
        total timeout); ``ServiceUnavailable`` if it cannot be reached."""
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=TIMEOUT_S)
        try:
            async with self._client().request(method, url + path_qs, timeout=timeout,
                                              headers=self._sent(headers)) as response:
                yield response
        except (aiohttp.ClientConnectorError, TimeoutError) as exc:
            raise ServiceUnavailable(f"controller {holder}, which holds what was asked, did "
                                     f"not answer: {exc or type(exc).__name__}") from None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=TIMEOUT_S), auto_decompress=False)
        return self._session

    def _sent(self, headers: Mapping[str, str]) -> dict[str, str]:
        """The caller's headers as they go on: this hop's dropped, this controller named."""
        sent = {name: value for name, value in headers.items() if name.lower() not in HOP}
        sent[FORWARDED] = self.me
        return sent

    async def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()
