"""Background tasks of one part of the controller: started, kept until they end, stopped.

Why one class: the takeover, the routing, the adoption, the standing preloads, the artifact
registry's copies and the data gates' counting each start tasks nobody awaits, which must stay
referenced until they end (the event loop keeps only weak references), must not fail unseen,
and are waited for or cancelled when the controller stops; each had its own set and its own
copy of that, and so had the dispatcher's activations. (The tunnel's transfers cannot import
the controller.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
CLOSE_S = 5.0
"""How long :meth:`Tasks.close` waits for the cancelled tasks to end."""


class Tasks:
    """Tasks started by :meth:`spawn`; ``what`` names them in the log of a failure.
    ``logged``: False for tasks whose failure is an expected outcome their awaiter reads
    (a wait that may end with a lost run): kept and stopped the same, not logged."""

    def __init__(self, what: str, *, logged: bool = True) -> None:
        self.what = what
        self.logged = logged
        self._running: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Run ``coro`` as a task kept until it ends; its failure, if any, is logged."""
        task = asyncio.get_running_loop().create_task(coro)
        self._running.add(task)
        task.add_done_callback(self._ended)
        return task

    def _ended(self, task: asyncio.Task[Any]) -> None:
        self._running.discard(task)
        if not task.cancelled() and task.exception() is not None and self.logged:
            log.error("%s: %r", self.what, task.exception(), exc_info=task.exception())

    def __iter__(self) -> Iterator[asyncio.Task[Any]]:
        """The tasks running now (a copy: they may end meanwhile)."""
        return iter(list(self._running))

    async def close(self, timeout: float | None = CLOSE_S) -> None:
        """Cancel every task and wait up to ``timeout`` (None: for ever) for them to end."""
        tasks = list(self._running)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)

    def __len__(self) -> int:
        return len(self._running)

    async def settled(self) -> None:
        """Until every task started so far, and every one those started, has ended (tests,
        shutdown), failed or not."""
        while self._running:
            await asyncio.wait(list(self._running))
