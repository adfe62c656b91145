"""The proxy client's own HTTP/1.1 (``containers/proxy_http.py``) against a real server on a
real socket: a scripted asyncio server that reads each request and writes the bytes a test
gives it, so the answers a library server would never send (garbage, a cut body, an answer
delimited by the close) are exercised too. What the client must keep: one kept-alive
connection reused, a closed or interrupted connection never reused, every transport failure
one of the pool's two typed errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from edgewhisk_runtime.containers.exceptions import ContainerTimeout, ContainerUnreachable
from edgewhisk_runtime.containers.proxy_client import ProxyContainer
from edgewhisk_runtime.local import free_port

Answer = Callable[[int], bytes]  # the n-th request on the server -> the bytes written back


def _ok(body: bytes, *extra: str) -> bytes:
    head = "".join(f"{line}\r\n" for line in extra)
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"%sContent-Length: %d\r\n\r\n%s" % (head.encode(), len(body), body))


class _Image(ProxyContainer):
    def alive(self) -> bool:
        return True

    async def destroy(self) -> None:
        await self.close_session()


class _Server:
    """Counts connections, keeps each request's raw bytes, answers with ``answer(n)``."""

    def __init__(self, answer: Answer, close_after: bool = False, delay: float = 0.0) -> None:
        self.answer, self.close_after, self.delay = answer, close_after, delay
        self.connections = 0
        self.requests: list[bytes] = []
        self.closed = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                self.requests.append(head + await reader.readexactly(length))
                answer = self.answer(len(self.requests))
                await asyncio.sleep(self.delay)
                writer.write(answer)
                await writer.drain()
                if self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.closed += 1
            writer.close()


@asynccontextmanager
async def _serving(server: _Server, concurrency: int = 1) -> AsyncIterator[_Image]:
    port = free_port()
    listener = await asyncio.start_server(server.serve, "127.0.0.1", port)
    image = _Image("proxy-http-test", "blackbox", "127.0.0.1", port, concurrency=concurrency)
    try:
        yield image
    finally:
        await image.destroy()
        async with asyncio.timeout(5):  # each handler sees its connection closed
            while server.closed < server.connections:
                await asyncio.sleep(0.01)
        listener.close()
        await listener.wait_closed()


def _in_loop(test: Callable[[], Any]) -> Any:
    return asyncio.run(test())


def test_a_warm_run_is_one_request_on_one_kept_alive_connection() -> None:
    server = _Server(lambda n: _ok(b'{"n": %d}' % n, 'X-Edgewhisk-Gates: []'))

    async def test() -> None:
        async with _serving(server) as image:
            replies = [await image.run({"value": {"a": 1}}, timeout=5) for _ in range(3)]
            assert [(r.status, r.body) for r in replies] == [(200, {"n": n}) for n in (1, 2, 3)]
        assert server.connections == 1
        body = b'{"value": {"a": 1}}'
        assert server.requests[0] == (
            b"POST /run HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (image.port, len(body), body))

    _in_loop(test)


def test_init_posts_the_value_to_init() -> None:
    server = _Server(lambda n: _ok(b'{"ok": true}'))

    async def test() -> None:
        async with _serving(server) as image:
            assert await image.init({"code": "x"}, timeout=5) == (200, {"ok": True})
        assert server.requests[0].startswith(b"POST /init HTTP/1.1\r\n")
        assert server.requests[0].endswith(b'\r\n\r\n{"value": {"code": "x"}}')

    _in_loop(test)


@pytest.mark.parametrize("answer, body", [
    pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                 b"4\r\n{\"a\"\r\n4\r\n: 1}\r\n0\r\n\r\n", {"a": 1}, id="chunked"),
    pytest.param(b"HTTP/1.0 502 Bad Gateway\r\n\r\n{\"error\": \"x\"}", {"error": "x"},
                 id="delimited by the close"),
    pytest.param(_ok(b'{"big": "' + b"x" * 1_000_000 + b'"}', "Connection: close"),
                 {"big": "x" * 1_000_000},
                 id="a megabyte"),
])
def test_answers_of_every_framing_are_read_whole(answer: bytes, body: Any) -> None:
    """Each answer says the connection ends with it (a header, or HTTP/1.0 without a length)."""
    server = _Server(lambda n: answer, close_after=True)

    async def test() -> None:
        async with _serving(server) as image:
            for _ in range(2):  # the closed connection is not reused
                reply = await image.run({}, timeout=10)
                assert (reply.body, reply.status in (200, 502)) == (body, True)
        assert server.connections == 2

    _in_loop(test)


@pytest.mark.parametrize("answer", [
    pytest.param(b"garbage\r\n\r\n", id="not HTTP"),
    pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"cut", id="a cut body"),
    pytest.param(b"", id="closed without an answer"),
])
def test_a_broken_answer_is_unreachable_and_the_next_run_opens_a_new_connection(
        answer: bytes) -> None:
    server = _Server(lambda n: answer if n == 1 else _ok(b"{}"), close_after=True)

    async def test() -> None:
        async with _serving(server) as image:
            with pytest.raises(ContainerUnreachable, match="/run failed"):
                await image.run({}, timeout=5)
            assert (await image.run({}, timeout=5)).body == {}
        assert server.connections == 2

    _in_loop(test)


def test_a_timed_out_run_closes_its_connection() -> None:
    server = _Server(lambda n: _ok(b"{}"), delay=0.3)

    async def test() -> None:
        async with _serving(server) as image:
            with pytest.raises(ContainerTimeout, match="no answer to /run in 0.05 s"):
                await image.run({}, timeout=0.05)
            assert (await image.run({}, timeout=5)).body == {}
        assert server.connections == 2

    _in_loop(test)


def test_concurrent_runs_each_get_their_own_answer() -> None:
    server = _Server(lambda n: _ok(b'{"n": %d}' % n), delay=0.05)

    async def test() -> None:
        async with _serving(server, concurrency=3) as image:
            replies = await asyncio.gather(*(image.run({}, timeout=5) for _ in range(3)))
            assert sorted(r.body["n"] for r in replies) == [1, 2, 3]
            await asyncio.gather(*(image.run({}, timeout=5) for _ in range(3)))
        assert server.connections == 3  # the second three reused the first three's

    _in_loop(test)


def test_a_refused_connection_and_a_closed_client_are_unreachable() -> None:
    async def test() -> None:
        image = _Image("proxy-http-test", "blackbox", "127.0.0.1", free_port(), concurrency=1)
        with pytest.raises(ContainerUnreachable, match="/run failed"):
            await image.run({}, timeout=5)
        await image.destroy()

        server = _Server(lambda n: _ok(b"{}"), delay=0.5)
        async with _serving(server) as image:
            running = asyncio.ensure_future(image.run({}, timeout=5))
            while not server.requests:
                await asyncio.sleep(0.01)
            await image.close_session()
            with pytest.raises(ContainerUnreachable, match="closed the connection"):
                await running
            with pytest.raises(ContainerUnreachable, match="the client is closed"):
                await image.run({}, timeout=5)

    _in_loop(test)
