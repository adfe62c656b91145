"""The error middleware on its own: each kind of exception a handler can raise becomes the
right status with ``{"error", "code"}``, and a bug is a logged 500, not a dead server.

A real aiohttp server (``aiohttp.test_utils``) with handlers that raise; no mocks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from edgewhisk_controller import exceptions, stores
from edgewhisk_controller.middleware.errors import errors_middleware

CASES: list[tuple[str, Callable[[], BaseException], int]] = [
    ("a bad request", lambda: exceptions.BadRequest("limits.memory: too big"), 400),
    ("a forbidden namespace", lambda: exceptions.Forbidden(), 403),
    ("a conflict", lambda: exceptions.Conflict(), 409),
    ("a payload too large", lambda: exceptions.PayloadTooLarge(), 413),
    ("no invoker", lambda: exceptions.ServiceUnavailable(), 503),
    ("a document the store lacks", lambda: stores.NotFound("actions/x"), 404),
    ("a stale revision", lambda: stores.Conflict("actions/x"), 409),
    ("an unreachable store", lambda: stores.StoreUnavailable("down"), 503),
    ("a broken store", lambda: stores.StoreError("corrupt"), 500),
    ("a bug", lambda: ZeroDivisionError("oops"), 500),
    ("a bug raising KeyError", lambda: KeyError("missing"), 500),
]


def _serve(raise_: Callable[[], BaseException]) -> web.Application:
    async def failing(request: web.Request) -> web.Response:
        raise raise_()

    async def fine(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application(middlewares=[errors_middleware])
    app.router.add_get("/fail", failing)
    app.router.add_get("/fine", fine)
    return app


async def _exchange(raise_: Callable[[], BaseException]) -> list[tuple[int, dict, str]]:
    async with TestClient(TestServer(_serve(raise_))) as client:
        answers = []
        for path in ("/fail", "/fine"):
            response = await client.get(path)
            answers.append((response.status, await response.json(),
                            response.headers["X-Request-ID"]))
        return answers


@pytest.mark.parametrize("name, raise_, status", CASES, ids=[c[0] for c in CASES])
def test_each_exception_maps_to_its_status_and_the_server_lives_on(
    name: str, raise_: Callable[[], BaseException], status: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="edgewhisk_controller"):
        (failed, body, tid), (after, ok, _) = asyncio.run(_exchange(raise_))
    assert failed == status
    assert set(body) == {"error", "code"} and body["code"] == tid and body["error"]
    assert (after, ok) == (200, {"ok": True})
    if status == 500:
        assert tid in caplog.text  # bugs are logged with the transaction id
    if name == "a bug":
        assert "oops" not in body["error"]  # internals are not shown to clients
