"""The tunnel's close codes and its one error type (``messages`` and ``fields`` raise it)."""

from __future__ import annotations

import enum


class CloseCode(enum.IntEnum):
    """WebSocket close codes the tunnel uses (RFC 6455 values, then our 4xxx ones)."""

    NORMAL = 1000              # agent shut down cleanly / controller closed it on purpose
    GOING_AWAY = 1001          # the controller (or agent) is shutting down
    PROTOCOL_ERROR = 1002      # malformed frame, wrong order (anything before register)
    UNSUPPORTED_DATA = 1003    # a binary frame
    POLICY_VIOLATION = 1008    # a foreign frame: another invoker's id, an activation not given
    MESSAGE_TOO_BIG = 1009     # a frame over MAX_FRAME_BYTES
    INTERNAL_ERROR = 1011      # the controller failed handling a valid frame
    TOKEN_REVOKED = 4003       # the device token was revoked while connected
    HEARTBEAT_TIMEOUT = 4008   # no heartbeat within offline_after_s: the invoker is offline
    REPLACED = 4009            # a newer connection registered the same invoker id


class ProtocolError(ValueError):
    """A frame that is not a valid message; ``reason`` says why, ``close_code`` how to close."""

    def __init__(self, reason: str, close_code: CloseCode = CloseCode.PROTOCOL_ERROR) -> None:
        super().__init__(reason)
        self.reason = reason
        self.close_code = close_code
