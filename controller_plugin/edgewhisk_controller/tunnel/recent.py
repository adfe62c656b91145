"""``Recent``: the last keys added, a bounded memory the tunnel keeps per device and per
connection (the activations a device ended, the code keys sent on a connection).

Why a module of its own: the connection's interface (``interfaces.py``) names it and the
activation bookkeeping (``pending.py``) builds on it, and the bookkeeping imports the interface.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TypeVar

V = TypeVar("V")


class Recent(OrderedDict[str, V]):
    """The last ``limit`` keys added (adding one again makes it the newest), each with a
    value, the oldest forgotten first."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def add(self, key: str, value: V) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.limit:
            self.popitem(last=False)
