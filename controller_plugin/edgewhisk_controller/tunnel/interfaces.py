"""What a RemoteInvoker sends on: the device's connection (a session), as a Protocol.

Why a Protocol: the session imports the invoker (it routes frames to it), so the invoker and
its pending activations, which remember the connection each went out on, must not import the
session.
"""

from __future__ import annotations

from typing import Protocol

from edgewhisk_tunnel import CloseCode
from edgewhisk_tunnel.transfers import Transfers

from .recent import Recent


class Connection(Protocol):
    """The device's current connection, as a RemoteInvoker and its hub use it (``Session``)."""

    transfers: Transfers | None  # artifact transfers, once registered
    protocol: int  # the version it speaks
    code_keys: Recent[None]  # protocol 2: spec keys whose code went out on it, the last ones

    async def send_frame(self, frame: str | bytes) -> bool: ...

    async def close(self, code: CloseCode, reason: str) -> None: ...

    def close_soon(self, code: CloseCode, reason: str) -> None: ...
