"""InvokerRegistry: the invokers the controller can place activations on, by id.

Why a registry and not a list: edge invokers come and go at runtime (they register through the
tunnel), so the dispatcher asks the registry for current states on every placement.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..placement.interface import InvokerState
from .interface import Invoker


class InvokerRegistry:
    def __init__(self, invokers: tuple[Invoker, ...] | list[Invoker] = ()) -> None:
        self._invokers: dict[str, Invoker] = {}
        for invoker in invokers:
            self.register(invoker)

    def register(self, invoker: Invoker) -> None:
        """Add ``invoker``; its id must be new (``ValueError`` otherwise)."""
        if invoker.id in self._invokers:
            raise ValueError(f"an invoker with id {invoker.id!r} is already registered")
        self._invokers[invoker.id] = invoker

    def unregister(self, id: str) -> Invoker:
        """Remove and return the invoker ``id`` (``KeyError`` if unknown); it is not closed."""
        return self._invokers.pop(id)

    def get(self, id: str) -> Invoker:
        """The invoker ``id``; ``KeyError`` if it is not registered (any more)."""
        return self._invokers[id]

    def states(self) -> list[InvokerState]:
        """A snapshot of every registered invoker, ordered by id."""
        return [self._invokers[id].state() for id in sorted(self._invokers)]

    def __iter__(self) -> Iterator[Invoker]:
        return iter(list(self._invokers.values()))

    def __len__(self) -> int:
        return len(self._invokers)

    def __contains__(self, id: object) -> bool:
        return id in self._invokers

    async def close(self) -> None:
        """Close and forget every invoker."""
        invokers, self._invokers = list(self._invokers.values()), {}
        for invoker in invokers:
            await invoker.close()
