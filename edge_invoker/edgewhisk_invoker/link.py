"""The agent's WebSocket to one controller: dialling it, sending on it, closing it.

Why a module of its own: every refusal the handshake can end in is mapped here, once, to the
typed error that ends the agent (401/403: the token; a certificate that did not verify: TLS);
every send goes through one lock (aiohttp's writer is not safe to interleave) and reports a
broken socket as ``False`` rather than raising, because the connection's reader notices the
loss and reconnects; every close is bounded, whatever state the socket is in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import aiohttp
from edgewhisk_tunnel import MAX_FRAME_BYTES, CloseCode, Message, ProtocolError, Registered, encode
from edgewhisk_tunnel.messages import AUTH_SCHEME

from .config import AgentConfig
from .exceptions import Fatal, Replaced, TlsFailure, TokenRejected

log = logging.getLogger("edgewhisk_invoker")

CLOSE_TIMEOUT_S = 5.0    # bound on closing the socket
CONNECT_TIMEOUT_S = 10.0  # bound on TCP + TLS + the WebSocket handshake
ABNORMAL_CLOSURE = 1006  # RFC 6455: the connection dropped without a close frame
FATAL_CLOSES: dict[int, type[Fatal]] = {CloseCode.TOKEN_REVOKED: TokenRejected,
                                        CloseCode.REPLACED: Replaced}


class Lost(Exception):
    """The connection ended (not an error: the agent reconnects)."""


def client_session() -> aiohttp.ClientSession:
    """Bounded dialling (a cut link drops SYNs silently) and handshake; no total timeout,
    which would also bound the WebSocket's life (aiohttp resets the read timeout for it)."""
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(
        total=None, connect=CONNECT_TIMEOUT_S, sock_read=CONNECT_TIMEOUT_S))


async def dial(session: aiohttp.ClientSession, url: str, config: AgentConfig,
               ssl: Any) -> aiohttp.ClientWebSocketResponse:
    """The WebSocket to ``url``, authenticated with the device's token; a refusal retrying
    cannot fix raises its :class:`~.exceptions.Fatal` error."""
    try:
        return await session.ws_connect(
            url, heartbeat=config.ws_heartbeat_s, ssl=ssl,
            headers={"Authorization": f"{AUTH_SCHEME} {config.token}"},
            max_msg_size=MAX_FRAME_BYTES + 1, autoping=True,  # aiohttp: < limit
            timeout=aiohttp.ClientWSTimeout(ws_close=CLOSE_TIMEOUT_S))
    except aiohttp.WSServerHandshakeError as exc:
        if exc.status in (401, 403):
            raise TokenRejected(f"the controller refused the token (HTTP {exc.status}); "
                                f"create one with `edgewhisk invoker token create`") from None
        raise
    except aiohttp.ClientConnectorCertificateError as exc:
        raise TlsFailure(f"the controller's certificate did not verify: "
                         f"{exc.certificate_error} (trust its CA with --ca-file)") from None


class Link:
    """The live connection (``ws``, None between connections) and the one way to send on it;
    the ``registered`` answer of the live connection (None when there is none), and the
    tunnel protocol version it speaks (``protocol``: ``registered.protocol``; before the
    first registration the configured one, after one the last one's). Kept here once: the
    activations, the heartbeats and the agent all read them."""

    def __init__(self, protocol: int) -> None:
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.registered: Registered | None = None
        self.protocol = protocol
        self._lock = asyncio.Lock()

    @property
    def connected(self) -> bool:
        """Registered on a live connection."""
        return self.registered is not None

    def up(self, registered: Registered) -> None:
        self.registered, self.protocol = registered, registered.protocol

    def down(self) -> None:
        self.ws, self.registered = None, None

    async def send(self, message: Message) -> bool:
        """One message on the live connection; False if there is none (or it just broke)."""
        try:
            frame = encode(message)
        except ProtocolError as exc:
            log.error("not sending a %s: %s", message.TYPE, exc.reason)
            return True
        return await self.send_frame(frame)

    async def send_frame(self, frame: str | bytes) -> bool:
        """One encoded frame (bytes: binary) on the live connection; False as ``send``."""
        ws = self.ws
        if ws is None or ws.closed:
            return False
        try:
            async with self._lock:
                if isinstance(frame, bytes):
                    await ws.send_bytes(frame)
                else:
                    await ws.send_str(frame)
        except (ConnectionError, aiohttp.ClientError, RuntimeError) as exc:
            log.info("send failed (%s); the reader will reconnect", describe(exc))
            return False
        return True


async def close_ws(ws: aiohttp.ClientWebSocketResponse, code: int, reason: str) -> None:
    """Close ``ws`` with ``code``, bounded; a socket already broken is not an error."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(ws.close(code=code, message=reason.encode()[:120]),
                               CLOSE_TIMEOUT_S)


def close_text(ws: aiohttp.ClientWebSocketResponse, frame: aiohttp.WSMessage) -> str:
    """How the connection ended, for the log and the errors: close code's name, number, reason."""
    code = ws.close_code
    reason = frame.extra if isinstance(frame.extra, str) and frame.extra else ""
    try:
        name = CloseCode(code).name if code is not None else "no close code"
    except ValueError:
        name = "ABNORMAL_CLOSURE" if code == ABNORMAL_CLOSURE else "close code"
    return f"{name} ({code}) {reason}".strip()


def describe(exc: BaseException) -> str:
    """An exception for the log (some aiohttp errors have no message)."""
    return str(exc) or type(exc).__name__
