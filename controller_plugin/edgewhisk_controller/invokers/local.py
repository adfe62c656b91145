"""LocalInvoker: activations run in this process's container pool (the embedded cloud side).

Why a thin wrapper: the pool (``edgewhisk_runtime.containers``) is shared with the edge invoker,
so it must not know about placement; this class adds an id, the kinds it offers (by default
all its backend supports) and the namespaces it serves, and reports the pool's load as an
``InvokerState``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..placement.interface import InvokerState
from .interface import Invoker

if TYPE_CHECKING:
    from edgewhisk_runtime.containers import ActionSpec, ContainerPool, RunOutcome


class LocalInvoker(Invoker):
    def __init__(
        self,
        id: str,
        pool: ContainerPool,
        kinds: Iterable[str] | None = None,
        *,
        namespaces: Iterable[str] | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> None:
        """``attributes``: placement attributes of ``InvokerState`` (role, owner, site,
        labels, capabilities, networks, bandwidth_mbps, cached, cpus), e.g. from --fleet."""
        self.id = id
        self.pool = pool
        self.kinds = frozenset(pool.backend.kinds if kinds is None else kinds)
        self.namespaces = None if namespaces is None else frozenset(namespaces)
        self.attributes = dict(attributes or {})
        self._closed = False

    def state(self) -> InvokerState:
        return InvokerState(
            id=self.id,
            kinds=self.kinds,
            memory_mb=self.pool.memory_mb,
            free_memory_mb=self.pool.free_memory_mb,
            in_flight=self.pool.in_flight,
            healthy=not self._closed,
            namespaces=self.namespaces,
            **self.attributes,
        )

    async def run(self, spec: ActionSpec, value: Any, fields: Mapping[str, str]) -> RunOutcome:
        return await self.pool.run(spec, value, fields)

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self.pool.close()
