"""The one error of the strict JSON reader and writer.

Hierarchy::

    ValueError
    └── JSONError        text that is not standard JSON within the limits, or a value that
                         cannot be written as such (``reason`` says what and where)

A ``ValueError`` so that callers that already refuse ``json.JSONDecodeError`` keep working;
every caller maps it once to its own refusal (a 400, a tunnel close code, an invalid result).
"""

from __future__ import annotations


class JSONError(ValueError):
    """Not standard JSON (or over a limit); ``reason`` is a sentence naming what."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
