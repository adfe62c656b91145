"""Artifact transfers over one tunnel connection: pulls (``artifact.get``) and pushes
(``artifact.offer``), both ways, streamed in chunks within the receiver's credit.

Why receiver-driven credit: an artifact may be hundreds of megabytes while a device has little
memory and the tunnel is shared with activations. The receiver grants bytes with
``artifact.get`` (``offset`` = the next byte it expects, ``window`` chunks beyond it) only as it
*consumes* them, so a slow disk or a slow relay slows the sender (backpressure end to end) and
neither side ever holds more than ``window`` chunks of one transfer. A chunk beyond the grant,
out of order, or for a transfer never opened is a broken or hostile peer: :meth:`Transfers.handle`
raises ``ProtocolError`` with ``POLICY_VIOLATION`` (the connection's reader closes it).

The conversation (``id`` = a transfer id chosen by whoever opens it)::

    pull:  R -> S  get(id, ref, 0, w)        S -> R  put(id, 0..)  ...  put(eof, sha256)
                   get(id, ref, offset, w)   (more credit, while consuming)
    push:  S -> R  offer(id, ref, size, sha256, ...)
           R -> S  get(id, ref, 0, w) = accept | abort(id, reason) = refuse
           S -> R  puts within credit, the last with eof
           R -> S  get(id, ref, offset=size) once it KEPT the bytes (the push's acknowledgement)
    either side:   abort(id, reason) ends it; ``abort_all`` when the connection drops.

Pure asyncio over a ``send`` coroutine; imports nothing of ours but :mod:`.messages` and
:mod:`.streams` (the two ends of a stream, re-exported here: ``Incoming``, ``Outgoing``,
``save``, ``file_chunks`` and the errors).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from .messages import (
    ARTIFACT_CHUNK_BYTES,
    ArtifactAbort,
    ArtifactGet,
    ArtifactOffer,
    ArtifactPut,
    CloseCode,
    Message,
    ProtocolError,
)
from .streams import (
    CACHED,
    CONNECTION_LOST,
    Incoming,
    Outgoing,
    Progress,
    Throttle,
    TransferError,
    TransferRefused,
    file_chunks,
    rechunk,
    save,
)

__all__ = ["CACHED", "CONNECTION_LOST", "Incoming", "Outgoing", "TransferError",
           "TransferRefused", "Transfers", "file_chunks", "save"]

log = logging.getLogger(__name__)

ENDED_HISTORY = 1024
"""Transfer ids remembered after they ended: late grants and chunks for them are ignored."""

Send = Callable[[Message], Awaitable[bool]]


@dataclass
class _Out:
    """One transfer this side sends."""

    transfer_id: str
    ref: str
    limit: int = 0                      # granted up to this byte
    credit: asyncio.Event = field(default_factory=asyncio.Event)
    accepted: asyncio.Future[None] | None = None   # pushes: the peer's first get
    acked: asyncio.Future[None] | None = None      # pushes: the peer kept the bytes
    size: int = 0
    eof_sent: bool = False
    task: asyncio.Task[None] | None = None
    error: TransferError | None = None             # set when aborted or the connection ended


@dataclass
class TransferCounts:
    """Bytes of artifact chunks sent and received, over any number of connections: what an
    agent reports as ``transfer_sent_bytes``/``transfer_received_bytes`` in its metrics."""

    sent: int = 0
    received: int = 0


class Transfers:
    """Every transfer of one connection; :meth:`handle` is fed the connection's artifact frames."""

    def __init__(self, send: Send, *, window: int = 8, on_progress: Progress | None = None,
                 on_request: Callable[[ArtifactGet], Awaitable[Outgoing]] | None = None,
                 on_offer: Callable[[ArtifactOffer, Incoming], Awaitable[None]] | None = None,
                 counts: TransferCounts | None = None) -> None:
        if window < 1:
            raise ValueError("window must be at least 1 chunk")
        self.counts = counts if counts is not None else TransferCounts()
        self.send = send
        self.window = window
        self.on_progress = on_progress
        self.on_request = on_request
        self.on_offer = on_offer
        self.incoming: dict[str, Incoming] = {}
        self.outgoing: dict[str, _Out] = {}
        self._ended: OrderedDict[str, None] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()
        self.closed: str | None = None

    # -- opening -------------------------------------------------------------------------------

    async def fetch(self, ref: str) -> Incoming:
        """Open a pull of ``ref``; returns once the first chunk came (``size`` known).
        ``TransferRefused`` if the peer refuses, ``TransferError`` if the connection ends.
        Cancelled before that (its run was), the pull is aborted: nobody would read it, and
        it stayed open for as long as the connection, a window of chunks buffered in it."""
        self._check_open()
        incoming = Incoming(self, uuid.uuid4().hex, ref)
        self.incoming[incoming.transfer_id] = incoming
        try:
            await self.grant(incoming, 0)
            await incoming.first
        except asyncio.CancelledError:
            self._spawn(self.abort_incoming(incoming, f"artifact {ref}: the receiver stopped"))
            raise
        return incoming

    async def push(self, offer: ArtifactOffer, chunks: AsyncIterator[bytes]) -> None:
        """Offer and stream an artifact; returns once the peer acknowledged keeping it.
        ``TransferRefused`` when it refuses, ``TransferError`` when the transfer fails."""
        self._check_open()
        if offer.transfer_id in self.outgoing or offer.transfer_id in self.incoming:
            raise ValueError(f"transfer id {offer.transfer_id} is in use")
        loop = asyncio.get_running_loop()
        out = _Out(offer.transfer_id, offer.ref, size=offer.size,
                   accepted=loop.create_future(), acked=loop.create_future())
        self.outgoing[out.transfer_id] = out
        try:
            if not await self.send(offer):
                raise TransferError(CONNECTION_LOST)
            assert out.accepted is not None and out.acked is not None
            await out.accepted
            try:
                await self._stream(out, Outgoing(offer.size, offer.sha256, offer.format,
                                                 chunks))
            except TransferError:
                raise
            except Exception as exc:  # the source failed (disk, blob store): tell the peer
                await self.send(ArtifactAbort(out.transfer_id, f"artifact {out.ref}: {exc}"))
                raise
            await out.acked
        finally:
            self.outgoing.pop(out.transfer_id, None)
            self._end(out.transfer_id)

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex

    # -- frames from the peer ------------------------------------------------------------------

    def handle(self, message: Message) -> bool:
        """Route one frame; False if it is not an artifact frame. Raises ``ProtocolError``
        (POLICY_VIOLATION) for a chunk beyond the grant or a transfer never opened."""
        if isinstance(message, ArtifactPut):
            self._on_put(message)
        elif isinstance(message, ArtifactGet):
            self._on_get(message)
        elif isinstance(message, ArtifactOffer):
            self._on_offer(message)
        elif isinstance(message, ArtifactAbort):
            self._on_abort(message)
        else:
            return False
        return True

    def _on_put(self, put: ArtifactPut) -> None:
        incoming = self.incoming.get(put.transfer_id)
        if incoming is None:
            if put.transfer_id in self._ended:
                return  # in flight when we ended it
            raise _violation(f"artifact.put for transfer {put.transfer_id}, which was not opened")
        data = put.data
        end = put.offset + len(data)
        problem = None
        if put.ref != incoming.ref:
            problem = f"artifact.put of {put.ref!r} on the transfer of {incoming.ref!r}"
        elif put.offset != incoming.received:
            problem = f"artifact.put at byte {put.offset}, expected byte {incoming.received}"
        elif end > incoming.granted:
            problem = (f"artifact.put up to byte {end} beyond the granted credit "
                       f"({incoming.granted} bytes)")
        elif end > put.size or (incoming.size is not None and put.size != incoming.size):
            problem = f"artifact.put size {put.size} is inconsistent"
        elif put.eof and (end != put.size or put.sha256 is None):
            problem = "artifact.put eof before the end, or without sha256"
        elif not put.eof and end == put.size and put.size > 0:
            problem = "artifact.put reached the size without eof"
        if problem is not None:
            self._ended_now(incoming, TransferError(f"artifact {incoming.ref}: {problem}"))
            raise _violation(problem)
        incoming.received = end
        self.counts.received += len(data)
        if incoming.size is None:
            incoming.size = put.size
        if incoming.format is None:
            incoming.format = put.format
        if not incoming.first.done():
            incoming.first.set_result(None)
        if data:
            incoming.arrived(data)
        if put.eof:
            incoming.ended(put.sha256)

    def _on_get(self, get: ArtifactGet) -> None:
        out = self.outgoing.get(get.transfer_id)
        if out is None:
            if get.transfer_id in self._ended:
                return
            if get.transfer_id in self.incoming:
                raise _violation(f"artifact.get for transfer {get.transfer_id}, which the peer "
                                 f"sends")
            self._serve(get)
            return
        if get.ref != out.ref:
            raise _violation(f"artifact.get of {get.ref!r} on the transfer of {out.ref!r}")
        if out.accepted is not None and not out.accepted.done():
            out.accepted.set_result(None)
        elif out.eof_sent and out.acked is not None and get.offset == out.size:
            if not out.acked.done():
                out.acked.set_result(None)
            return
        out.limit = max(out.limit, get.offset + get.window * ARTIFACT_CHUNK_BYTES)
        out.credit.set()

    def _on_offer(self, offer: ArtifactOffer) -> None:
        tid = offer.transfer_id
        if tid in self.incoming or tid in self.outgoing or tid in self._ended:
            raise _violation(f"artifact.offer reuses transfer id {tid}")
        if self.on_offer is None:
            self._spawn(self._refuse(tid, "this side accepts no artifact offers"))
            return
        incoming = Incoming(self, tid, offer.ref, size=offer.size, sha256=offer.sha256,
                            format=offer.format, offered=True)
        self.incoming[tid] = incoming
        self._spawn(self._accept(offer, incoming))

    def _on_abort(self, abort: ArtifactAbort) -> None:
        tid = abort.transfer_id
        incoming = self.incoming.get(tid)
        if incoming is not None:
            refused = incoming.received == 0 and not incoming.first.done()
            error = TransferRefused if refused else TransferError
            self._ended_now(incoming, error(abort.reason))
            return
        out = self.outgoing.get(tid)
        if out is not None:
            self._fail_out(out, TransferRefused(abort.reason))

    # -- serving -------------------------------------------------------------------------------

    def _serve(self, get: ArtifactGet) -> None:
        out = _Out(get.transfer_id, get.ref, limit=get.offset + get.window * ARTIFACT_CHUNK_BYTES)
        self.outgoing[out.transfer_id] = out
        out.task = self._spawn(self._serve_one(get, out))

    async def _serve_one(self, get: ArtifactGet, out: _Out) -> None:
        try:
            if self.on_request is None:
                raise TransferRefused("this side serves no artifacts")
            outgoing = await self.on_request(get)
            out.size = outgoing.size
            await self._stream(out, outgoing)
        except TransferRefused as exc:
            await self.send(ArtifactAbort(out.transfer_id, str(exc)))
        except TransferError:
            pass  # aborted by the peer or the connection ended
        except Exception as exc:  # reading the blob failed (disk, a bug): abort, go on
            log.warning("serving artifact %s failed: %r", out.ref, exc)
            await self.send(ArtifactAbort(out.transfer_id, f"artifact {out.ref}: {exc}"))
        finally:
            self.outgoing.pop(out.transfer_id, None)
            self._end(out.transfer_id)

    async def _stream(self, out: _Out, outgoing: Outgoing) -> None:
        """Send ``outgoing`` in chunks, never beyond the peer's grant; eof carries sha256.
        The source is closed however this ends (a relayed source then stops its sender)."""
        try:
            await self._stream_from(out, outgoing)
        finally:
            aclose = getattr(outgoing.chunks, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()

    async def _stream_from(self, out: _Out, outgoing: Outgoing) -> None:
        offset = 0
        progress = Throttle(out.ref, outgoing.size, self.on_progress)
        async for piece in rechunk(outgoing.chunks):
            end = offset + len(piece)
            if end > outgoing.size:
                await self._abort_out(out, f"artifact {out.ref} is larger than its "
                                           f"{outgoing.size} bytes")
            while end > out.limit and out.error is None:
                out.credit.clear()
                await out.credit.wait()
            if out.error is not None:
                raise out.error
            await self._put(out, outgoing, offset, piece)
            offset = end
            progress(offset)
        if offset != outgoing.size:
            await self._abort_out(out, f"artifact {out.ref} has {offset} bytes, not "
                                       f"{outgoing.size}")
        if outgoing.size == 0:
            await self._put(out, outgoing, 0, b"")

    async def _put(self, out: _Out, outgoing: Outgoing, offset: int, piece: bytes) -> None:
        eof = offset + len(piece) == outgoing.size
        if eof:
            out.eof_sent = True
        put = ArtifactPut(out.transfer_id, out.ref, offset, outgoing.size, piece, eof=eof,
                          sha256=outgoing.sha256 if eof else None,
                          format=outgoing.format if offset == 0 else None)
        if not await self.send(put):
            raise TransferError(CONNECTION_LOST)
        self.counts.sent += len(piece)

    async def _accept(self, offer: ArtifactOffer, incoming: Incoming) -> None:
        assert self.on_offer is not None
        try:
            await self.on_offer(offer, incoming)
            if not incoming.done:
                raise TransferRefused(f"artifact {offer.ref} was not read by the receiver")
            await self.send(ArtifactGet(offer.transfer_id, offer.ref, offer.size, 1))
        except TransferRefused as exc:
            await self.abort_incoming(incoming, str(exc))
        except TransferError:
            pass  # already aborted (digest, size) or the connection ended
        except Exception as exc:  # the receiver's store failed (disk, a bug): refuse, go on
            log.warning("artifact offer %s failed: %r", offer.ref, exc)
            await self.abort_incoming(incoming, f"artifact {offer.ref}: {exc}")
        finally:
            self.incoming.pop(offer.transfer_id, None)
            self._end(offer.transfer_id)

    async def _refuse(self, transfer_id: str, reason: str) -> None:
        await self.send(ArtifactAbort(transfer_id, reason))
        self._end(transfer_id)

    # -- credit, aborts, endings (grant, abort_incoming, received: a stream's Conversation) ----

    async def grant(self, incoming: Incoming, consumed: int) -> None:
        """More credit when less than half a window is left (and at the start)."""
        window_bytes = self.window * ARTIFACT_CHUNK_BYTES
        if consumed and incoming.granted - consumed > window_bytes // 2:
            return
        incoming.granted = consumed + window_bytes
        if not await self.send(ArtifactGet(incoming.transfer_id, incoming.ref, consumed,
                                           self.window)):
            self._ended_now(incoming, TransferError(CONNECTION_LOST))

    async def abort_incoming(self, incoming: Incoming, reason: str) -> None:
        if incoming.transfer_id in self.incoming:
            self._ended_now(incoming, TransferError(reason))
            await self.send(ArtifactAbort(incoming.transfer_id, reason[:1000]))

    async def _abort_out(self, out: _Out, reason: str) -> None:
        await self.send(ArtifactAbort(out.transfer_id, reason[:1000]))
        raise TransferError(reason)

    def _ended_now(self, incoming: Incoming, error: TransferError) -> None:
        self.incoming.pop(incoming.transfer_id, None)
        self._end(incoming.transfer_id)
        incoming.fail(error)

    def received(self, incoming: Incoming) -> None:
        self.incoming.pop(incoming.transfer_id, None)
        self._end(incoming.transfer_id)

    def _fail_out(self, out: _Out, error: TransferError) -> None:
        self.outgoing.pop(out.transfer_id, None)
        self._end(out.transfer_id)
        out.error = error
        for future in (out.accepted, out.acked):
            if future is not None and not future.done():
                future.set_exception(error)
                future.exception()  # retrieved: the pusher may not be waiting on this one
        if out.task is not None:
            out.task.cancel()
        out.credit.set()  # a sender waiting for credit sees the end

    def abort_all(self, reason: str = CONNECTION_LOST) -> None:
        """The connection ended: every transfer fails with ``TransferError(reason)``."""
        self.closed = reason
        for incoming in list(self.incoming.values()):
            self._ended_now(incoming, TransferError(reason))
        for out in list(self.outgoing.values()):
            self._fail_out(out, TransferError(reason))

    async def close(self, reason: str = CONNECTION_LOST) -> None:
        """``abort_all`` and wait (bounded) for the serving tasks to end."""
        self.abort_all(reason)
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5.0)

    def _end(self, transfer_id: str) -> None:
        self._ended[transfer_id] = None
        self._ended.move_to_end(transfer_id)
        while len(self._ended) > ENDED_HISTORY:
            self._ended.popitem(last=False)

    def _check_open(self) -> None:
        if self.closed is not None:
            raise TransferError(self.closed)

    def _spawn(self, coro: Awaitable[None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


def _violation(reason: str) -> ProtocolError:
    return ProtocolError(reason, CloseCode.POLICY_VIOLATION)
