"""The host ports of the proxies this process started, held until their container is destroyed.

Why: :func:`~edgewhisk_runtime.local.free_port` asks the OS for a port nobody listens on *now*.
Cold starts a moment apart (a recovery or a fan-out starting a dozen containers at once) can be
told the same port before either proxy binds it. The second proxy then fails to bind, but its
readiness probe is answered by the first one, and its ``/init`` reaches a proxy that already
holds an action: a run that fails with "Cannot initialize the action more than once." With the
port held from the choice to the container's end, two starts of one process never share it.
"""

from __future__ import annotations

from collections.abc import Callable

from edgewhisk_runtime.containers.exceptions import ContainerStartError
from edgewhisk_runtime.local import free_port

ATTEMPTS = 100  # far more than the OS ever repeats itself in a row

_held: set[int] = set()


def hold(host: str, pick: Callable[[str], int] = free_port) -> int:
    """A free port of ``host`` that no container of this process holds, now held."""
    for _ in range(ATTEMPTS):
        port = pick(host)
        if port not in _held:
            _held.add(port)
            return port
    raise ContainerStartError(f"no free port on {host} after {ATTEMPTS} attempts")


def release(port: int) -> None:
    """Give ``port`` back (its container is gone); releasing twice is harmless."""
    _held.discard(port)


def held() -> frozenset[int]:
    return frozenset(_held)
