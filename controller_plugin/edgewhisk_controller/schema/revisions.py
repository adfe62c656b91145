"""Facts about an action worked out once per stored revision, not on every invoke.

Why keyed by (``_id``, ``_rev``): a revision names exactly one content, so what is derived from
the document's own fields (its code, its annotations) cannot change while the key holds. Only
fields that a revision fixes may feed such a fact: the parameters of an action reached through
a package binding are merged per binding into a copy with the same revision, so nothing derived
from ``parameters`` is kept here. Documents without a revision (built in tests, sequences'
components read in memory) are worked out every time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

D = TypeVar("D", bound=Mapping[str, Any])
T = TypeVar("T")

KEPT = 1024
"""Revisions remembered by each fact, the oldest forgotten first."""


class PerRevision(Generic[D, T]):
    """``compute(doc)``, remembered for the last ``KEPT`` revisions asked about."""

    def __init__(self, compute: Callable[[D], T]) -> None:
        self._compute = compute
        self._values: dict[tuple[str, str], T] = {}

    def __call__(self, doc: D) -> T:
        id, rev = doc.get("_id"), doc.get("_rev")
        if not (isinstance(id, str) and isinstance(rev, str)):
            return self._compute(doc)
        key = (id, rev)
        if key in self._values:
            return self._values[key]
        value = self._compute(doc)
        if len(self._values) >= KEPT:
            del self._values[next(iter(self._values))]  # the oldest entry
        self._values[key] = value
        return value
