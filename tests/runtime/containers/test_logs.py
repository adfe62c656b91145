"""LogCollector: lines, sentinels, time order, truncation and the missing-sentinel notice."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence

import pytest
from edgewhisk_runtime.containers.logs import (
    LOG_FAILURE,
    TRUNCATED,
    LogCollector,
    LogLine,
    format_time,
)
from edgewhisk_runtime.logs import SENTINEL

S = SENTINEL.encode()
LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z (stdout|stderr): (.*)$")


def texts(lines: list[str]) -> list[tuple[str, str]]:
    found = []
    for line in lines:
        match = LINE.match(line)
        assert match, line
        found.append((match.group(1), match.group(2)))
    return found


def collect(feeds: Sequence[tuple[str, bytes | None, int]], *, limit: int = 10_000,
            rounds: int = 1, timeout: float = 0.0,
            sentinels: bool = True) -> list[tuple[list[tuple[str, str]], bool]]:
    """Feed (stream, bytes or None for end, time_ns) then collect ``rounds`` times."""
    async def go() -> list[tuple[list[tuple[str, str]], bool]]:
        collector = LogCollector()
        for stream, data, at in feeds:
            if data is None:
                collector.end(stream)
            else:
                collector.feed(stream, data, at)
        results = []
        for _ in range(rounds):
            got = await collector.collect(limit_bytes=limit, timeout=timeout,
                                          sentinels=sentinels)
            results.append((texts(got.lines), got.complete))
        return results

    return asyncio.run(go())


CASES = [
    pytest.param(
        [("stdout", b"a\nb\n" + S + b"\n", 1), ("stderr", b"e\n" + S + b"\n", 2)], 1,
        [([("stdout", "a"), ("stdout", "b"), ("stderr", "e")], True)],
        id="lines of both streams up to their sentinels"),
    pytest.param(
        [("stdout", b"fir", 1), ("stdout", b"st\nsec", 2), ("stdout", b"ond\n" + S + b"\n", 3),
         ("stderr", S + b"\n", 4)], 1,
        [([("stdout", "first"), ("stdout", "second")], True)],
        id="a line split across chunks is one line"),
    pytest.param(
        [("stdout", b"late\n" + S + b"\n", 50), ("stderr", b"early\n" + S + b"\n", 10)], 1,
        [([("stderr", "early"), ("stdout", "late")], True)],
        id="the streams are merged in arrival order"),
    pytest.param(
        [("stdout", b"one\n" + S + b"\ntwo\n" + S + b"\n", 1),
         ("stderr", S + b"\n" + S + b"\n", 2)], 2,
        [([("stdout", "one")], True), ([("stdout", "two")], True)],
        id="each collect takes the next activation only"),
    pytest.param(
        [("stdout", b"no newline" + S + b"\n", 1), ("stderr", S + b"\n", 2)], 1,
        [([("stdout", "no newline")], True)],
        id="output without a newline before the sentinel is kept"),
    pytest.param(
        [("stdout", b"  indented  \n" + S + b"\n", 1), ("stderr", S + b"\n", 2)], 1,
        [([("stdout", "indented")], True)],
        id="the text is trimmed as upstream trims it"),
    pytest.param(
        [("stdout", b"crashed", 1), ("stdout", None, 2), ("stderr", None, 3)], 1,
        [([("stdout", "crashed")], True)],
        id="the end of both streams stands for the sentinels"),
    pytest.param(
        [("stdout", b"out\n" + S + b"\n", 1), ("stderr", b"err without sentinel\n", 2)], 1,
        [([("stdout", "out"), ("stderr", "err without sentinel"), ("stderr", LOG_FAILURE)],
          False)],
        id="a missing sentinel ends the logs with upstream's failure notice"),
]


def test_without_expected_sentinels_the_lines_so_far_are_complete() -> None:
    feeds: list[tuple[str, bytes | None, int]] = [("stdout", b"blackbox\n", 1)]
    assert collect(feeds, sentinels=False) == [([("stdout", "blackbox")], True)]


@pytest.mark.parametrize("feeds, rounds, expected", CASES)
def test_collect(feeds: list[tuple[str, bytes | None, int]], rounds: int,
                 expected: list[tuple[list[tuple[str, str]], bool]]) -> None:
    assert collect(feeds, rounds=rounds) == expected


def _notice(limit: int) -> tuple[str, str]:
    return ("stderr", TRUNCATED.format(limit=limit))


@pytest.mark.parametrize("limit, expected", [
    pytest.param(10, [("stdout", "aaaa"), ("stdout", "bbbb")],
                 id="lines that fit with their newlines are all kept"),
    pytest.param(9, [("stdout", "aaaa"), _notice(9)],
                 id="the line that crosses the limit is replaced by upstream's notice"),
    pytest.param(4, [_notice(4)], id="a limit below the first line leaves only the notice"),
])
def test_truncation(limit: int, expected: list[tuple[str, str]]) -> None:
    feeds = [("stdout", b"aaaa\nbbbb\n" + S + b"\n", 1), ("stderr", S + b"\n", 2)]
    assert collect(feeds, limit=limit) == [(expected, True)]


def test_a_collect_waits_for_sentinels_that_arrive_later() -> None:
    async def go() -> list[str]:
        collector = LogCollector()
        waiting = asyncio.ensure_future(collector.collect(limit_bytes=1000, timeout=30))
        await asyncio.sleep(0)
        collector.feed("stdout", b"hello\n" + S + b"\n")
        await asyncio.sleep(0)
        collector.feed("stderr", S + b"\n")
        got = await waiting
        assert got.complete
        return got.lines

    assert [text for _, text in texts(asyncio.run(go()))] == ["hello"]


@pytest.mark.parametrize("time_ns, formatted", [
    pytest.param(0, "1970-01-01T00:00:00.000000Z", id="the epoch"),
    pytest.param(1_795_770_000_123_456_789, "2026-11-27T09:00:00.123456Z",
                 id="microseconds, truncated, in UTC"),
])
def test_format_time(time_ns: int, formatted: str) -> None:
    assert format_time(time_ns) == formatted
    assert LogLine(time_ns, "stdout", "x").format() == f"{formatted} stdout: x"
