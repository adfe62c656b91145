"""``background.py``: a part's background tasks are kept until they end, a failure is logged
under the part's name, and close cancels what still runs and waits for it; ``cluster/tasks.py``'s
loops."""

from __future__ import annotations

import asyncio
import logging

import pytest
from edgewhisk_controller.background import Tasks


def test_tasks_are_kept_until_they_end_failures_logged_and_cancelled_at_close(
        caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> tuple[int, bool, list[str]]:
        tasks = Tasks("cluster test")
        ended: list[str] = []

        async def fail() -> None:
            raise RuntimeError("it broke")

        async def forever() -> None:
            try:
                await asyncio.sleep(3600)
            finally:
                ended.append("forever")

        done = tasks.spawn(asyncio.sleep(0, result=7))
        failing = tasks.spawn(fail())
        running = tasks.spawn(forever())
        # their callbacks (the tasks' own first) have run once this wait ends
        await asyncio.gather(done, failing, return_exceptions=True)
        assert list(tasks) == [running]  # the ended ones are let go
        await tasks.close()
        return done.result(), running.cancelled(), ended

    with caplog.at_level(logging.WARNING, logger="edgewhisk_controller.background"):
        result, cancelled, ended = asyncio.run(scenario())
    assert (result, cancelled, ended) == (7, True, ["forever"])
    assert [r.getMessage() for r in caplog.records] == ["cluster test: RuntimeError('it broke')"]


def test_tasks_whose_failure_their_awaiter_reads_are_not_logged(
        caplog: pytest.LogCaptureFixture) -> None:
    """``logged=False`` (a wait that may end with a lost run): kept and stopped the same,
    its failure left to whoever awaits it."""
    async def scenario() -> tuple[BaseException | None, int]:
        tasks = Tasks("cluster waits", logged=False)

        async def lost() -> None:
            raise RuntimeError("the run is lost")

        failing = tasks.spawn(lost())
        await asyncio.gather(failing, return_exceptions=True)
        return failing.exception(), len(tasks)

    with caplog.at_level(logging.WARNING, logger="edgewhisk_controller.background"):
        failure, running = asyncio.run(scenario())
    assert isinstance(failure, RuntimeError) and running == 0
    assert caplog.records == []
