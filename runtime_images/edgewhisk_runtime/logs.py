"""The proxy's two log streams, shared with the action process (inherited file descriptors).

Why raw ``os.write``: the action writes to the same descriptors from another process, so the
proxy must never hold buffered bytes that could land after (or before) the action's output.
"""

from __future__ import annotations

import os

SENTINEL = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX"
_SENTINEL_LINE = (SENTINEL + "\n").encode()


def _write(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def stderr(message: str) -> None:
    """One line on the proxy's stderr (which is also the action's stderr)."""
    _write(2, (message.rstrip("\n") + "\n").encode("utf-8", "replace"))


def sentinels() -> None:
    """End an activation's logs: the sentinel once on stdout, then once on stderr."""
    _write(1, _SENTINEL_LINE)
    _write(2, _SENTINEL_LINE)
