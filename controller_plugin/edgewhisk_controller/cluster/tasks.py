"""The cluster's loops: run for the controller's life, stopped at close.

The node's and the changes feed's loops: each step retried ``RETRY_S`` after an error
(:func:`forever`: Redis or the store away is logged and waited out, not fatal), stopped with
:func:`cancelled`. (The cluster's parts' background tasks are ``background.Tasks``.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

log = logging.getLogger(__name__)

RETRY_S = 1.0
"""After an error of one of the cluster's loops (Redis or the store away), before it tries
again."""


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
