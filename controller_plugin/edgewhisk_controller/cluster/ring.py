"""Namespace sharding: a consistent-hash ring over the live controllers.

Why consistent hashing: a namespace's placements made by one controller (its owner) need no
cross-controller claim (``claims.py``) on its devices, and when a controller joins or dies
only the namespaces it owned (about 1/N of them) change owner. Each controller stands at
``VNODES`` points of the ring (the sha1 of ``id#k``) so the shares stay even; a namespace
belongs to the first point at or after its own hash.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterable

VNODES = 64


def _point(text: str) -> int:
    return int.from_bytes(hashlib.sha1(text.encode()).digest()[:8], "big")


class Ring:
    def __init__(self, controllers: Iterable[str], vnodes: int = VNODES) -> None:
        points = sorted((_point(f"{c}#{k}"), c) for c in set(controllers) for k in range(vnodes))
        if not points:
            raise ValueError("a ring needs at least one controller")
        self._hashes = [p for p, _ in points]
        self._owners = [c for _, c in points]
        self.controllers = tuple(sorted(set(controllers)))

    def owner(self, namespace: str) -> str:
        """The controller that owns ``namespace``'s placements."""
        at = bisect.bisect_left(self._hashes, _point(namespace)) % len(self._hashes)
        return self._owners[at]
