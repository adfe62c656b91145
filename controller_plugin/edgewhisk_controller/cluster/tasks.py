"""The cluster's loops: run for the controller's life, stopped at close.

The node's and the changes feed's loops: each step retried ``RETRY_S`` after an error
(:func:`forever`: Redis or the store away is logged and waited out, not fatal), kept and
stopped, like the cluster's other background tasks, by ``background.Tasks``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)

RETRY_S = 1.0
"""After an error of one of the cluster's loops (Redis or the store away), before it tries
again."""


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
