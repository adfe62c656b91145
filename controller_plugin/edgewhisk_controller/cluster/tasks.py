"""The background tasks of the cluster's parts: started, kept until they end, stopped at close.

Why one class: the takeover, the routing and the adoption each start tasks nobody awaits (a
run served from the stream, a dead controller's bookkeeping, a listing), which must stay
referenced until they end (the event loop keeps only weak references), must not fail
unseen, and are cancelled when the controller stops, with a bounded wait; each had its own
set and its own copy of that. The node's and the changes feed's loops run for the
controller's life, each step retried ``RETRY_S`` after an error (:func:`forever`: Redis or
the store away is logged and waited out, not fatal), and are stopped with :func:`cancelled`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Iterable, Iterator
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
CLOSE_S = 5.0
"""How long :meth:`Tasks.close` waits for the cancelled tasks to end."""
RETRY_S = 1.0
"""After an error of one of the cluster's loops (Redis or the store away), before it tries
again."""


class Tasks:
    """Tasks started by :meth:`spawn`; ``what`` names them in the log of a failure."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._running: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Run ``coro`` as a task kept until it ends; its failure, if any, is logged."""
        task = asyncio.get_running_loop().create_task(coro)
        self._running.add(task)
        task.add_done_callback(self._ended)
        return task

    def _ended(self, task: asyncio.Task[Any]) -> None:
        self._running.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("%s: %r", self.what, task.exception())

    def __iter__(self) -> Iterator[asyncio.Task[Any]]:
        """The tasks running now (a copy: they may end meanwhile)."""
        return iter(list(self._running))

    async def close(self) -> None:
        """Cancel every task and wait up to ``CLOSE_S`` for them to end."""
        tasks = list(self._running)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=CLOSE_S)


async def cancelled(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Cancel ``tasks`` and wait until each has ended (the cluster's loops, at close)."""
    tasks = list(tasks)
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def forever(loop: Callable[[], Coroutine[Any, Any, None]], what: str) -> None:
    """Run ``loop`` again and again: an error (Redis's connection errors and kin) is logged
    and retried after ``RETRY_S``; only a cancel ends it."""
    while True:
        try:
            await loop()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("cluster %s: %s; retrying in %g s", what, exc, RETRY_S)
            await asyncio.sleep(RETRY_S)
