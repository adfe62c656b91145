"""The SQLite store's group-commit batches written on the event loop's thread
(``SQLiteStore.write_many_soon``, ``stores/sqlite.py``).

Why their own tests: a batch goes through a connection of the loop's own, without a busy
timeout and without checkpoints, and hands over to the worker thread whatever it cannot do at
once. The contract suite covers what a batch answers; these check that a batch waiting for
another writer's lock still lands (on the worker), that the loop's thread is what writes once
the tables exist, and that the worker's checkpoints keep the WAL from growing without end.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from edgewhisk_controller.stores import StoreError, Write
from edgewhisk_controller.stores.sqlite import (
    CACHE_KIB,
    CHECKPOINT_EVERY,
    WRITE_HERE_MAX,
    SQLiteStore,
)


async def _soon(store: SQLiteStore, writes: list[Write]) -> Any:
    delivered: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    store.write_many_soon(writes, delivered.set_result)
    return await delivered


def test_a_small_batch_runs_on_the_loops_thread_once_its_tables_exist(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    async def scenario() -> None:
        store = SQLiteStore(tmp_path / "store.sqlite3")
        original = store._write_many  # noqa: SLF001  (the worker's batch)

        def on_worker(writes: Any) -> Any:
            seen.append(threading.current_thread().name)
            return original(writes)

        monkeypatch.setattr(store, "_write_many", on_worker)
        try:
            for n in range(3):
                outcome = await _soon(store, [Write("docs", {"_id": f"d{n}"})])
                assert isinstance(outcome[0], str), outcome
            outcome = await _soon(store, _large())
            assert all(isinstance(rev, str) for rev in outcome), outcome
            assert await store.count("docs") == 3 + len(outcome)
        finally:
            await store.close()

    asyncio.run(scenario())
    assert len(seen) == 2 and all(name.startswith("edgewhisk-sqlite") for name in seen)
    # ^ the first (no table yet) and the large one


def _large() -> list[Write]:
    return [Write("docs", {"_id": f"big{n}"}) for n in range(WRITE_HERE_MAX + 1)]


def test_a_batch_while_another_writer_holds_the_lock_lands_after_it(tmp_path: Path) -> None:
    async def scenario() -> Any:
        store = SQLiteStore(tmp_path / "store.sqlite3")
        try:
            await _soon(store, [Write("docs", {"_id": "first"})])  # file and table made
            other = sqlite3.connect(tmp_path / "store.sqlite3", isolation_level=None,
                                    check_same_thread=False)
            other.execute("BEGIN IMMEDIATE")  # another process's write in progress
            asyncio.get_running_loop().call_later(0.3, other.execute, "COMMIT")
            outcome = await _soon(store, [Write("docs", {"_id": "second"})])
            other.close()
            return outcome, await store.count("docs")
        finally:
            await store.close()

    outcome, count = asyncio.run(scenario())
    assert isinstance(outcome, list) and isinstance(outcome[0], str) and count == 2


def test_the_worker_checkpoints_so_the_wal_does_not_grow_without_end(tmp_path: Path) -> None:
    """The WAL after the commits before the first checkpoint is the yardstick: ten times as
    many commits leave it under four times that (without checkpoints: about ten times; a
    checkpoint that gives up, the loop writing all along, leaves its work to the next)."""
    wal = tmp_path / "store.sqlite3-wal"

    async def scenario() -> tuple[int, int]:
        store = SQLiteStore(tmp_path / "store.sqlite3")
        try:
            for n in range(10 * CHECKPOINT_EVERY):
                await _soon(store, [Write("docs", {"_id": f"d{n}", "pad": "x" * 2000})])
                if n == CHECKPOINT_EVERY - 2:
                    before = wal.stat().st_size  # the commits before the first checkpoint
            await store.count("docs")  # the worker is done with the checkpoints it was given
            return before, wal.stat().st_size  # (closing the store removes the file)
        finally:
            await store.close()

    before, after = asyncio.run(scenario())
    assert after < 4 * before, (before, after)


def test_an_error_once_the_lock_is_held_is_the_batchs_store_error(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch
                                                                  ) -> None:
    """Its table gone under it (another process's doing): the batch gets the error, with the
    backend's as its cause, and is not handed to the worker to be tried a second time."""
    calls: list[object] = []

    async def scenario() -> Any:
        store = SQLiteStore(tmp_path / "store.sqlite3")
        try:
            await _soon(store, [Write("docs", {"_id": "first"})])  # file and table made
            monkeypatch.setattr(store, "_write_many", calls.append)
            other = sqlite3.connect(tmp_path / "store.sqlite3", isolation_level=None)
            other.execute('DROP TABLE "c_docs"')
            other.close()
            return await _soon(store, [Write("docs", {"_id": "second"})])
        finally:
            await store.close()

    outcome = asyncio.run(scenario())
    assert isinstance(outcome, StoreError) and isinstance(outcome.__cause__, sqlite3.Error)
    assert calls == []


def test_a_batch_that_comes_while_a_checkpoint_is_due_goes_to_the_worker_behind_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Else the loop, committing back to back, takes the write lock back at each of the
    checkpoint's retries and the checkpoint gives up (the WAL then grows under a long load)."""
    order: list[str] = []
    release = threading.Event()

    async def scenario() -> None:
        store = SQLiteStore(tmp_path / "store.sqlite3")
        checkpoint, write_many = store._checkpoint, store._write_many  # noqa: SLF001

        def held_checkpoint() -> None:
            release.wait(10)
            order.append("checkpoint")
            checkpoint()

        def on_worker(writes: Any) -> Any:
            order.append("worker batch")
            return write_many(writes)

        monkeypatch.setattr(store, "_checkpoint", held_checkpoint)
        monkeypatch.setattr(store, "_write_many", on_worker)
        try:
            await _soon(store, [Write("docs", {"_id": "first"})])  # makes the table
            order.clear()
            for n in range(CHECKPOINT_EVERY):  # the last of these queues the checkpoint
                await _soon(store, [Write("docs", {"_id": f"d{n}"})])
            assert order == []  # written on the loop's thread
            behind = asyncio.ensure_future(_soon(store, [Write("docs", {"_id": "behind"})]))
            await asyncio.sleep(0.2)
            assert not behind.done()  # waiting for the checkpoint, not racing it
            release.set()
            assert isinstance((await behind)[0], str)
            await _soon(store, [Write("docs", {"_id": "after"})])  # the loop's again
        finally:
            release.set()
            await store.close()

    asyncio.run(scenario())
    assert order == ["checkpoint", "worker batch"]


def test_every_connection_of_the_store_has_the_bounded_page_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker's, the loop's writer and the point reader each cache at most ``CACHE_KIB``
    of pages (``bench/memory.py``: the controller's memory levels off at a stated bound, not
    SQLite's default one that fills over tens of thousands of activations)."""
    opened: list[sqlite3.Connection] = []
    connect = sqlite3.connect

    def recorded(*args: Any, **kwargs: Any) -> sqlite3.Connection:  # read here, after
        opened.append(connect(*args, **{**kwargs, "check_same_thread": False}))
        return opened[-1]

    monkeypatch.setattr(sqlite3, "connect", recorded)

    async def scenario() -> list[int]:
        store = SQLiteStore(tmp_path / "store.sqlite3")
        try:
            await store.put("actions", {"_id": "a"})  # the worker's connection
            await _soon(store, [Write("actions", {"_id": "b"})])  # the loop's writer
            await store.get("actions", "a")  # the point reader
            return [conn.execute("PRAGMA cache_size").fetchone()[0] for conn in opened]
        finally:
            await store.close()

    sizes = asyncio.run(scenario())
    assert len(sizes) == 3 and set(sizes) == {-CACHE_KIB}, sizes
