"""``GroupCommit``: writes of concurrent tasks share commits, each submitter hears its own
results once they are durable, a cancelled submitter's write still lands, and a failed commit
is every submitter's error. Against a real SQLite file."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from edgewhisk_controller.stores import Conflict, StoreUnavailable, Write, open_store
from edgewhisk_controller.stores.batch import GroupCommit


def test_concurrent_writes_share_commits_and_each_hears_its_own_results(tmp_path: Path):
    async def scenario() -> tuple[list[Any], int, int, int]:
        store = open_store(tmp_path)
        commits = GroupCommit(store)
        try:
            results = await asyncio.gather(*(
                commits.submit([Write("docs", {"_id": f"d{n}", "n": n})]) for n in range(200)))
            again = await commits.submit([Write("docs", {"_id": "d0"})])  # exists: refused
            return [*results, again], commits.stats.commits, commits.stats.writes, \
                await store.count("docs")
        finally:
            await commits.close()
            await store.close()

    results, commits, writes, stored = asyncio.run(scenario())
    assert all(isinstance(r[0], str) and r[0].startswith("1-") for r in results[:-1])
    assert isinstance(results[-1][0], Conflict)
    assert stored == 200 and writes == 201
    assert commits < 50, f"200 concurrent writes took {commits} commits"


def test_a_cancelled_submitter_does_not_cancel_its_write(tmp_path: Path):
    async def scenario() -> int:
        store = open_store(tmp_path)
        commits = GroupCommit(store)
        try:
            task = asyncio.ensure_future(commits.submit([Write("docs", {"_id": "kept"})]))
            await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await commits.close()  # waits for what was submitted
            return await store.count("docs")
        finally:
            await store.close()

    assert asyncio.run(scenario()) == 1


def test_a_failed_commit_is_every_submitters_error_and_a_closed_one_refuses(tmp_path: Path):
    (tmp_path / "a-file").write_text("not a folder")

    async def scenario() -> list[Any]:
        store = open_store(f"sqlite://{tmp_path}/a-file/store.sqlite3")
        commits = GroupCommit(store)
        try:
            outcomes = await asyncio.gather(*(
                commits.submit([Write("docs", {"_id": f"d{n}"})]) for n in range(3)),
                return_exceptions=True)
            await commits.close()
            with pytest.raises(StoreUnavailable):
                await commits.submit([Write("docs", {"_id": "late"})])
            return outcomes
        finally:
            await store.close()

    assert all(isinstance(o, StoreUnavailable) for o in asyncio.run(scenario()))
