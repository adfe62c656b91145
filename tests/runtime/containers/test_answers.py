"""A container's answer is read strictly: what is not standard JSON comes back as its raw text,
which the controller records as upstream's "The action did not produce a valid JSON response:
<text>" (an action developer error) — never a value that breaks a record, a store write or a
tunnel frame later.

Our runtimes never answer so (the Python proxy refuses NaN itself, Node.js writes null), but a
``blackbox`` image may run any proxy; ``_Image`` stands in for such an image: a real HTTP server
on a free port answering ``/run`` with the bytes of the row, reached by the same
``ProxyContainer`` the process and docker backends use."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from edgewhisk_controller.schema import activation as act
from edgewhisk_runtime.containers.proxy_client import ProxyContainer
from edgewhisk_runtime.local import free_port


class _Image(ProxyContainer):
    """A ``ProxyContainer`` of a server this test runs (no process or container to own)."""

    def alive(self) -> bool:
        return True

    async def destroy(self) -> None:
        await self.close_session()


@dataclass
class _Outcome:
    status: int
    response: Any
    init_failed: bool = False
    timed_out: bool = False


async def _answering(body: bytes) -> AsyncIterator[_Image]:
    async def run(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_post("/run", run)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    image = _Image("blackbox-test", "blackbox", "127.0.0.1", port, concurrency=1)
    try:
        yield image
    finally:
        await image.destroy()
        await runner.cleanup()


def _run(body: bytes) -> tuple[int, Any]:
    async def main() -> tuple[int, Any]:
        async for image in _answering(body):
            reply = await image.run({"value": {}}, timeout=10)
            return reply.status, reply.body
        raise AssertionError("no image")

    return asyncio.run(main())


@pytest.mark.parametrize("answer", [
    pytest.param(b'{"x": NaN}', id="NaN"),
    pytest.param(b'{"x": -Infinity}', id="an infinity"),
    pytest.param(b'{"x": 1e999}', id="a float beyond a double"),
    pytest.param(b'{"x": ' + b"9" * 400 + b"}", id="a 400-digit integer"),
    pytest.param(b'{"x": "\\ud800"}', id="a lone surrogate"),
    pytest.param(b"[" * 200 + b"]" * 200, id="nesting 200 deep"),
])
def test_an_answer_that_is_not_standard_json_is_recorded_as_an_invalid_json_response(
        answer: bytes) -> None:
    status, response = _run(answer)
    assert (status, response) == (200, answer.decode())
    recorded, timed_out = act.response_of(_Outcome(status, response), timeout_ms=1000)
    assert (recorded.status_code, timed_out) == (act.DEVELOPER_ERROR, False)
    assert recorded.result == {"error": act.invalid_run_response(answer.decode())}


def test_a_standard_answer_is_the_value_it_holds() -> None:
    assert _run(b'{"x": [1, 2.5, "\\ud83d\\ude00"]}') == (200, {"x": [1, 2.5, "\U0001f600"]})
