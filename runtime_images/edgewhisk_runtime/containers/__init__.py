"""Containers for actions: the pool and its backends, shared by every kind of invoker.

Why it lives in the runtime package: the controller's local invokers and the edge invoker agent
run the same :class:`ContainerPool`, and nothing may import the controller.

- :mod:`.interface` — :class:`ActionSpec`, :class:`RunOutcome`, the abstract
  :class:`ContainerBackend` and :class:`Container`;
- :mod:`.pool` — :class:`ContainerPool` (warm reuse, memory slots, idle eviction, deadlines);
- :mod:`.process` — :class:`ProcessBackend` (the proxy as a local child process);
- :mod:`.docker` — ``DockerBackend`` (the runtime image through the ``docker`` SDK); import it
  from ``edgewhisk_runtime.containers.docker``: the ``docker`` package is only needed there;
- :mod:`.logs` — per-activation log collection at the sentinels;
- :mod:`.exceptions` — the error tree.
"""

from edgewhisk_runtime.containers.exceptions import (
    BackendUnavailable,
    ContainerError,
    ContainerStartError,
    ContainerTimeout,
    ContainerUnreachable,
    ImageUnavailable,
    InsufficientMemory,
    NamespaceRefused,
    PoolClosed,
    UnsupportedKind,
)
from edgewhisk_runtime.containers.interface import (
    BLACKBOX,
    NODEJS,
    PYTHON,
    ActionSpec,
    Container,
    ContainerBackend,
    RunOutcome,
)
from edgewhisk_runtime.containers.pool import ContainerPool
from edgewhisk_runtime.containers.process import ProcessBackend

__all__ = [
    "ActionSpec",
    "BLACKBOX",
    "BackendUnavailable",
    "Container",
    "ContainerBackend",
    "ContainerError",
    "ContainerPool",
    "ContainerStartError",
    "ContainerTimeout",
    "ContainerUnreachable",
    "ImageUnavailable",
    "InsufficientMemory",
    "NODEJS",
    "NamespaceRefused",
    "PYTHON",
    "PoolClosed",
    "ProcessBackend",
    "RunOutcome",
    "UnsupportedKind",
]
