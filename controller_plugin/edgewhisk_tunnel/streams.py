"""The two ends of one artifact stream, apart from the connection that carries them.

:class:`Incoming` is what a receiver iterates (``chunks()``: credit is granted as the bytes are
consumed; sha256 and size checked at the end), :class:`Outgoing` what a sender serves;
:func:`save` writes an Incoming to disk through a temporary file, :func:`file_chunks` reads a
file for an Outgoing. :mod:`.transfers` owns the conversation (``Transfers``) and imports this
module; an Incoming knows its conversation only as a :class:`Conversation` (the three things it
asks of it), so this module imports nothing of ours but :mod:`.messages`.

Errors: ``TransferError`` (aborted by the peer, digest or size mismatch, connection lost) and
its subclass ``TransferRefused`` (a refusal, ``str()`` naming the rule or the cause).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .messages import ARTIFACT_CHUNK_BYTES

CONNECTION_LOST = "the connection was lost"
CACHED = "cached"
"""How a push's refusal starts when the receiver holds that artifact already (not a failure:
a preload answers ``cached``)."""
PROGRESS_BYTES = 1 << 20

Progress = Callable[[str, int, int], None]


class TransferError(Exception):
    """A transfer failed: aborted by the peer, digest or size mismatch, connection lost."""


class TransferRefused(TransferError):
    """A transfer was refused (raised by ``on_request``/``on_offer`` -> ``artifact.abort``;
    raised to the opener when the peer refuses). ``str()`` is the reason, naming the rule."""


class Conversation(Protocol):
    """What an :class:`Incoming` asks of the conversation that carries it (``Transfers``):
    credit as its bytes are consumed, an abort when it gives up, and to be forgotten once a pull
    ended well. A Protocol, so the stream needs no import of the conversation's module."""

    on_progress: Progress | None

    async def grant(self, incoming: Incoming, consumed: int) -> None:
        """More credit for ``incoming``, ``consumed`` bytes having been read."""

    async def abort_incoming(self, incoming: Incoming, reason: str) -> None:
        """End ``incoming`` and tell the sender ``reason``."""

    def received(self, incoming: Incoming) -> None:
        """A pull ended with its bytes checked: its transfer id is done."""


@dataclass
class Outgoing:
    """What a serving side sends: the canonical blob's ``size``/``sha256`` and its bytes."""

    size: int
    sha256: str
    format: str
    chunks: AsyncIterator[bytes]


class Throttle:
    """Calls ``on_progress`` every ~1 MiB or 5 % of ``size``."""

    def __init__(self, ref: str, size: int, on_progress: Progress | None) -> None:
        self.ref, self.size, self.on_progress = ref, size, on_progress
        self.step = max(1, min(PROGRESS_BYTES, size // 20))
        self.next = 0

    def __call__(self, done: int) -> None:
        if self.on_progress is not None and (done >= self.next or done == self.size):
            self.next = done + self.step
            self.on_progress(self.ref, done, self.size)


class Incoming:
    """An artifact arriving: iterate :meth:`chunks` once; credit follows consumption."""

    def __init__(self, owner: Conversation, transfer_id: str, ref: str, *,
                 size: int | None = None, sha256: str | None = None,
                 format: str | None = None, offered: bool = False) -> None:
        self._owner = owner
        self.transfer_id = transfer_id
        self.ref = ref
        self.size = size
        self.sha256 = sha256
        self.format = format
        self.offered = offered
        self.started = False
        self.done = False
        self.received = 0       # bytes arrived (checked against the grant)
        self.granted = 0        # the sender may send up to this byte
        self.first: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue()
        self._eof_sha: str | None = None
        self.digest: str | None = None
        """The sha256 :meth:`chunks` verified, once it has (the sender's, checked)."""

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        """The bytes in order; ``TransferError`` on abort, loss, size or digest mismatch.
        Leaving the loop early aborts the transfer (the sender stops)."""
        if self.started:
            raise RuntimeError(f"transfer {self.transfer_id} is being read already")
        self.started = True
        owner = self._owner
        try:
            if self.offered:
                await owner.grant(self, 0)
            progress = Throttle(self.ref, self.size or 0, owner.on_progress)
            digest, consumed = hashlib.sha256(), 0
            while (item := await self._queue.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                digest.update(item)
                consumed += len(item)
                progress(consumed)
                if consumed < (self.size or 0):
                    await owner.grant(self, consumed)
                yield item
            got = digest.hexdigest()
            expected = self.sha256 or self._eof_sha
            if consumed != self.size or got != self._eof_sha or got != expected:
                reason = (f"artifact {self.ref}: received {consumed} bytes with sha256 {got}, "
                          f"expected {self.size} bytes with sha256 {expected}")
                await owner.abort_incoming(self, reason)
                raise TransferError(reason)
            self.digest = got
            self.done = True
            if not self.offered:
                owner.received(self)
        finally:
            if not self.done:
                await owner.abort_incoming(self, f"artifact {self.ref}: the receiver stopped")

    async def abort(self, reason: str) -> None:
        """Refuse or stop this transfer: the sender is told ``reason``."""
        await self._owner.abort_incoming(self, reason)

    # -- fed by the conversation, in the order the frames arrive ---------------------------------

    def arrived(self, data: bytes) -> None:
        """A chunk the conversation checked against the grant; :meth:`chunks` yields it."""
        self._queue.put_nowait(data)

    def ended(self, sha256: str | None) -> None:
        """The sender's last chunk came, carrying its sha256 (checked by :meth:`chunks`)."""
        self._eof_sha = sha256
        self._queue.put_nowait(None)

    def fail(self, error: TransferError) -> None:
        """The transfer ended badly: the first-chunk waiter and the reader see ``error``."""
        if not self.first.done():
            self.first.set_exception(error)
            self.first.exception()  # retrieved: nobody may be waiting for the first chunk
        self._queue.put_nowait(error)


async def rechunk(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Pieces of at most ``ARTIFACT_CHUNK_BYTES`` from chunks of any size."""
    async for chunk in chunks:
        view = memoryview(chunk)
        for start in range(0, len(view), ARTIFACT_CHUNK_BYTES):
            yield bytes(view[start:start + ARTIFACT_CHUNK_BYTES])


async def file_chunks(path: Path, offset: int = 0,
                      chunk: int = ARTIFACT_CHUNK_BYTES) -> AsyncIterator[bytes]:
    """A file's bytes from ``offset``, read off the event loop, one chunk in memory."""
    with open(path, "rb") as f:
        f.seek(offset)
        while data := await asyncio.to_thread(f.read, chunk):
            yield data


async def save(incoming: Incoming, dest: Path, *, max_size: int) -> tuple[int, str]:
    """Write ``incoming`` to ``dest`` through a temporary file beside it (renamed at the end,
    removed on failure); refuses more than ``max_size`` bytes. Returns (size, sha256): the
    digest :meth:`Incoming.chunks` verified, not computed a second time."""
    if incoming.size is not None and incoming.size > max_size:
        reason = (f"artifact {incoming.ref} has {incoming.size} bytes, more than the "
                  f"{max_size} allowed")
        await incoming.abort(reason)
        raise TransferRefused(reason)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{incoming.transfer_id}.part")
    size = 0
    try:
        with open(tmp, "wb") as f:
            async for data in incoming.chunks():
                size += len(data)
                if size > max_size:
                    reason = f"artifact {incoming.ref} exceeds {max_size} bytes"
                    await incoming.abort(reason)
                    raise TransferRefused(reason)
                await asyncio.to_thread(f.write, data)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    assert incoming.digest is not None  # chunks() ended only after checking the bytes
    return size, incoming.digest

