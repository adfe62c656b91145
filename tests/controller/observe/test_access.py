"""The access log's batches: the same line per request, with its answer's time, written at
most ``FLUSH_S`` later, all of them when the application stops.

A real aiohttp server (``aiohttp.test_utils``) with the access middleware and the flush on
cleanup wired as ``app.py`` wires them; the records are the access logger's own, captured.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from edgewhisk_controller.observe import access
from edgewhisk_controller.observe.access import AccessLog, access_middleware

LOGGER = "edgewhisk.access"


def _app(lines: AccessLog) -> web.Application:
    async def hello(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def flush(_: web.Application) -> None:
        lines.flush()

    app = web.Application(middlewares=[access_middleware(lines)])
    app.router.add_get("/hello", hello)
    app.on_cleanup.append(flush)
    return app


async def _requests(paths: list[str], wait_s: float) -> tuple[float, float, int]:
    """``paths`` requested in turn, then ``wait_s`` with the server up; (the time before the
    first request, the time after the last answer, how many lines were written by then)."""
    lines = AccessLog()
    async with TestClient(TestServer(_app(lines))) as client:
        before = time.time()
        for path in paths:
            async with client.get(path) as response:
                await response.read()
        after = time.time()
        await asyncio.sleep(wait_s)
        written = len(_records.records)
    return before, after, written


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


_records = _Records()


@pytest.fixture(autouse=True)
def _captured() -> Iterator[None]:
    logger = logging.getLogger(LOGGER)
    _records.records.clear()
    logger.addHandler(_records)
    old = logger.level
    logger.setLevel(logging.INFO)
    yield
    logger.removeHandler(_records)
    logger.setLevel(old)


def test_each_request_has_its_line_with_its_answers_time_within_the_batch_delay() -> None:
    before, after, written = asyncio.run(
        _requests(["/hello", "/missing", "/hello"], access.FLUSH_S * 4))
    assert written == 3  # written while the server still ran, not only at its stop
    assert [(r.getMessage().split()[:3]) for r in _records.records] == [
        ["GET", "/hello", "200"], ["GET", "/missing", "404"], ["GET", "/hello", "200"]]
    created = [r.created for r in _records.records]
    assert created == sorted(created) and before <= created[0] and created[-1] <= after
    for record in _records.records:  # the answer's time is the record's, to the millisecond
        assert record.msecs == int((record.created - int(record.created)) * 1000)
        assert record.fields["path"] in ("/hello", "/missing")  # type: ignore[attr-defined]


def test_lines_waiting_for_their_batch_are_written_when_the_application_stops(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(access, "FLUSH_S", 60.0)
    _, _, written = asyncio.run(_requests(["/hello"] * 5, 0))
    assert written == 0  # still waiting for the batch when the server stopped...
    assert len(_records.records) == 5  # ...and written by the cleanup


def test_a_full_batch_is_written_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(access, "BATCH_MAX", 3)
    monkeypatch.setattr(access, "FLUSH_S", 60.0)
    _, _, written = asyncio.run(_requests(["/hello"] * 4, 0))
    assert written == 3  # the fourth waits (for a minute): the third filled the batch
    assert len(_records.records) == 4


def test_no_line_is_kept_when_the_access_log_is_off() -> None:
    logging.getLogger(LOGGER).setLevel(logging.WARNING)
    lines = AccessLog()

    async def run() -> None:
        async with TestClient(TestServer(_app(lines))) as client:
            async with client.get("/hello") as response:
                assert response.status == 200
            assert lines._lines == []  # noqa: SLF001  (nothing made, nothing waiting)

    asyncio.run(run())
    assert _records.records == []
