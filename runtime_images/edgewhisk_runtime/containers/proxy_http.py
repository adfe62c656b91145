"""The HTTP/1.1 client of one action proxy: kept-alive connections, each request's head built
once per container, each answer parsed by the response parser aiohttp ships (llhttp, in C).

Why not aiohttp's ``ClientSession``: a warm ``/run`` to a no-op action is the controller's
second HTTP exchange per blocking invoke, and the session spent most of its ~0.3 ms of CPU on
what never changes for one proxy (the URL, the headers, the cookie jar, the connector's
bookkeeping, the response object and its timers). A proxy is always the same host, port and
two paths, so the request is a fixed head plus ``Content-Length`` and the body; only the
parse of the answer needs a real HTTP parser, and that is aiohttp's own. The proxies keep
serving the standard OpenWhisk ``/init`` and ``/run`` over HTTP: nothing changes on their side,
for the process backend, the docker backend or a blackbox image.

Failures are :class:`ProxyConnectionError` (an ``OSError``, like a refused connect), so the
caller maps every transport failure in one ``except``. A connection that was interrupted (a
timeout, a cancel, a malformed answer) is closed, never reused.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import NamedTuple

from aiohttp.base_protocol import BaseProtocol
from aiohttp.http import HttpResponseParser, RawResponseMessage
from aiohttp.streams import StreamReader

READ_LIMIT = 2**16
"""The parser's buffer before it pauses reading (aiohttp's client default)."""


class ProxyConnectionError(ConnectionError):
    """The connection to a proxy failed, was closed before the answer, or carried no HTTP."""


class ProxyAnswer(NamedTuple):
    status: int
    headers: Mapping[str, str]  # case-insensitive (aiohttp's CIMultiDictProxy)
    body: bytes


class _Connection(BaseProtocol):
    """One kept-alive connection: one request at a time, its answer handed to the waiter."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        parser = HttpResponseParser(self, loop, READ_LIMIT, read_until_eof=True,
                                    payload_exception=ProxyConnectionError)
        super().__init__(loop, parser)
        self._answer: asyncio.Future[tuple[RawResponseMessage, StreamReader]] | None = None
        self._payload: StreamReader | None = None
        self.lost = False

    def data_received(self, data: bytes) -> None:
        assert self._parser is not None
        try:
            messages, _, _ = self._parser.feed_data(data)
        except Exception as exc:
            self._fail(ProxyConnectionError(f"not an HTTP answer: {exc!r}"))
            self.close()
            return
        for message, payload in messages:
            self._payload = payload
            if self._answer is None or self._answer.done():
                self.close()  # an answer nobody asked for: this connection is out of step
            else:
                self._answer.set_result((message, payload))

    def connection_lost(self, exc: BaseException | None) -> None:
        self.lost = True
        error = ProxyConnectionError(f"the proxy closed the connection ({exc or 'EOF'})")
        try:
            assert self._parser is not None
            self._parser.feed_eof()  # ends an answer delimited by the close
        except Exception as eof_error:
            if self._payload is not None:
                self._payload.set_exception(ProxyConnectionError(f"{error}: {eof_error}"))
        self._fail(error)
        super().connection_lost(exc)

    def _fail(self, error: ProxyConnectionError) -> None:
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(error)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    async def exchange(self, head: bytes, body: bytes) -> tuple[RawResponseMessage, bytes]:
        """Send one request, wait for its whole answer."""
        if self.transport is None:
            raise ProxyConnectionError("the proxy closed the connection")
        self._answer = self._loop.create_future()
        self._payload = None
        self.transport.writelines((head, body))
        message, payload = await self._answer
        return message, await payload.read()


class ProxyHTTP:
    """Keep-alive connections to one proxy at ``host:port``, at most ``keep`` idle ones.

    A request that finds no idle connection opens one, so ``concurrency`` activations in one
    container run side by side; the pool never runs more than that in one container.
    """

    def __init__(self, host: str, port: int, keep: int) -> None:
        self.host, self.port, self._keep = host, port, keep
        prefix = f"HTTP/1.1\r\nHost: {host}:{port}\r\n"
        self._heads = {path: (f"POST {path} {prefix}Content-Type: application/json\r\n"
                              "Content-Length: ").encode() for path in ("/init", "/run")}
        self._probe = f"GET / {prefix}Content-Length: 0\r\n\r\n".encode()
        self._idle: list[_Connection] = []
        self._open: set[_Connection] = set()
        self._closed = False

    async def post(self, path: str, body: bytes) -> ProxyAnswer:
        """POST ``body`` (JSON) to ``/init`` or ``/run``."""
        return await self._exchange(b"%s%d\r\n\r\n" % (self._heads[path], len(body)), body)

    async def probe(self) -> int:
        """GET ``/``: any answer at all (a 404 too) says the proxy serves HTTP."""
        return (await self._exchange(self._probe, b"")).status

    async def _exchange(self, head: bytes, body: bytes) -> ProxyAnswer:
        connection = self._idle_connection() or await self._connect()
        try:
            message, data = await connection.exchange(head, body)
        except BaseException:
            self._discard(connection)  # interrupted: what comes next on it is out of step
            raise
        if message.should_close or connection.lost or len(self._idle) >= self._keep:
            self._discard(connection)
        else:
            self._idle.append(connection)
        return ProxyAnswer(message.code, message.headers, data)

    def _idle_connection(self) -> _Connection | None:
        while self._idle:
            connection = self._idle.pop()
            if not connection.lost:
                return connection
            self._open.discard(connection)  # the proxy closed it while it was idle
        return None

    async def _connect(self) -> _Connection:
        if self._closed:
            raise ProxyConnectionError(f"{self.host}:{self.port}: the client is closed")
        loop = asyncio.get_running_loop()
        _, connection = await loop.create_connection(lambda: _Connection(loop),
                                                     self.host, self.port)
        if self._closed:  # closed while this one was connecting
            connection.close()
            raise ProxyConnectionError(f"{self.host}:{self.port}: the client is closed")
        self._open.add(connection)
        return connection

    def _discard(self, connection: _Connection) -> None:
        connection.close()
        self._open.discard(connection)

    def close(self) -> None:
        """Close every connection; a request in flight fails with ProxyConnectionError."""
        self._closed = True
        for connection in list(self._open):
            self._discard(connection)
        self._idle.clear()
