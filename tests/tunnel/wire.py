"""Sending a tunnel message on an aiohttp WebSocket as the real endpoints do: text frames, and a
binary frame for an ``artifact.put`` (test servers and protocol devices share this)."""

from __future__ import annotations

from typing import Any

import aiohttp
from edgewhisk_tunnel import Message, encode

FRAMES = (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY)
"""The frame types that carry messages."""


async def send_message(ws: Any, message: Message) -> None:
    """``message`` on ``ws`` (a client or server WebSocket) in the frame type it travels in."""
    frame = encode(message)
    if isinstance(frame, bytes):
        await ws.send_bytes(frame)
    else:
        await ws.send_str(frame)
