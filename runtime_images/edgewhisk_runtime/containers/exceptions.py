"""Typed errors of the container pool and its backends: infrastructure failures only.

Why so few: what an *action* does wrong (its /init fails, it crashes or overruns its time limit
during /run) is an expected outcome, returned as a :class:`~.interface.RunOutcome` value shaped
as upstream's developer errors. Exceptions are left for what the caller must report as a whisk
internal error (the backend is down, a container never came up) or for programming errors
(an unsupported kind, a closed pool). Nothing here imports the controller: the caller maps them.

Hierarchy::

    ContainerError                  base class, never raised itself
    ├── UnsupportedKind             the backend cannot run this kind (or has no image for it)
    ├── BackendUnavailable          the backend itself failed (Docker API unreachable, ...)
    ├── ContainerStartError         a container could not be started or never answered HTTP
    │   └── ImageUnavailable        a blackbox action's image does not exist: upstream makes
    │                               this a developer error, and so does the pool (an outcome)
    ├── ContainerUnreachable        the proxy stopped answering (connection refused/reset):
    │                               its process or container is gone
    ├── ContainerTimeout            no HTTP answer within the time allowed
    ├── InsufficientMemory          the action needs more memory than the whole pool has
    ├── NamespaceRefused            an unsandboxed process backend already serves another
    │                               namespace (its message says why there is no sandbox)
    └── PoolClosed                  run() on a pool that is closed or closing
"""

from __future__ import annotations


class ContainerError(Exception):
    """Base of every container-layer failure; the caller reports it as a whisk internal error."""


class UnsupportedKind(ContainerError):
    def __init__(self, kind: str, supported: frozenset[str]) -> None:
        self.kind = kind
        self.supported = supported
        names = ", ".join(sorted(supported)) or "none"
        super().__init__(f"this backend does not run kind {kind!r} (supported: {names})")


class BackendUnavailable(ContainerError):
    pass


class ContainerStartError(ContainerError):
    pass


class ImageUnavailable(ContainerStartError):
    def __init__(self, image: str) -> None:
        self.image = image
        super().__init__(f"Failed to pull container image '{image}'.")  # upstream's message


class ContainerUnreachable(ContainerError):
    pass


class ContainerTimeout(ContainerError):
    pass


class InsufficientMemory(ContainerError):
    def __init__(self, needed_mb: int, pool_mb: int) -> None:
        self.needed_mb = needed_mb
        self.pool_mb = pool_mb
        super().__init__(f"the action needs {needed_mb} MB but the pool has {pool_mb} MB in all")


class NamespaceRefused(ContainerError):
    """Without a sandbox every action runs as the invoker's user and sees what it sees, so an
    unsandboxed process backend serves the first namespace it runs and refuses the others."""

    def __init__(self, namespace: str, serving: str, why: str) -> None:
        self.namespace = namespace
        self.serving = serving
        super().__init__(f"this invoker runs actions without a sandbox ({why}), so it serves "
                         f"one namespace only: '{serving}', not '{namespace}'")


class PoolClosed(ContainerError):
    def __init__(self) -> None:
        super().__init__("the container pool is closed")
