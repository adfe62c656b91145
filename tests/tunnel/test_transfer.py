"""Transfers over a real aiohttp WebSocket pair: pulls and pushes both ways, credit, digests,
aborts from either side, a dropped connection, and a 64 MB stream that is never held whole."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from edgewhisk_devkit import app_server
from edgewhisk_tunnel import (
    ARTIFACT_CHUNK_BYTES,
    ArtifactGet,
    ArtifactOffer,
    ArtifactPut,
    CloseCode,
    Message,
    ProtocolError,
    decode,
)
from edgewhisk_tunnel.transfers import (
    Incoming,
    Outgoing,
    TransferError,
    TransferRefused,
    Transfers,
    file_chunks,
    save,
)

from .wire import FRAMES, send_message

MB = 1024 * 1024
PULLS = 20


class End:
    """One side of the pair: a socket, its Transfers and its one reader task."""

    def __init__(self, ws: Any, **options: Any) -> None:
        self.ws = ws
        self.sent: list[Message] = []       # chunks kept without their data
        self.received: list[Message] = []
        self.put_bytes = 0
        self.violations: list[ProtocolError] = []
        self.transfers = Transfers(self.send, **options)
        self.reader: asyncio.Task[None] | None = None

    async def send(self, message: Message) -> bool:
        if self.ws.closed:
            return False
        self.sent.append(_light(message))
        if isinstance(message, ArtifactPut):
            self.put_bytes += len(message.data)
        try:
            await send_message(self.ws, message)
        except (ConnectionError, RuntimeError):
            return False
        return True

    async def read(self) -> None:
        try:
            async for frame in self.ws:
                if frame.type not in FRAMES:
                    break
                message = decode(frame.data)
                self.received.append(_light(message))
                try:
                    self.transfers.handle(message)
                except ProtocolError as exc:
                    self.violations.append(exc)
                    await self.ws.close(code=exc.close_code, message=exc.reason.encode()[:120])
                    break
        finally:
            self.transfers.abort_all()


def _light(message: Message) -> Message:
    return dataclasses.replace(message, data="") if isinstance(message, ArtifactPut) else message


Scenario = Callable[[End, End], Awaitable[None]]


def run(scenario: Scenario, server_options: dict[str, Any] | None = None,
        client_options: dict[str, Any] | None = None) -> None:
    """``scenario(client, server)`` over a WebSocket on 127.0.0.1; everything closed after."""

    async def main() -> None:
        server_end: asyncio.Future[End] = asyncio.get_running_loop().create_future()

        async def handler(request: web.Request) -> web.WebSocketResponse:
            ws = web.WebSocketResponse(max_msg_size=8 * MB)
            await ws.prepare(request)
            end = End(ws, **(server_options or {}))
            server_end.set_result(end)
            await end.read()
            return ws

        app = web.Application()
        app.router.add_get("/ws", handler)
        async with app_server(app) as url:
            async with aiohttp.ClientSession() as http:
                ws = await http.ws_connect(f"{url}/ws", max_msg_size=8 * MB)
                client = End(ws, **(client_options or {}))
                client.reader = asyncio.ensure_future(client.read())
                server = await server_end
                try:
                    await asyncio.wait_for(scenario(client, server), 120)
                finally:
                    await ws.close()
                    await client.reader
                    await client.transfers.close()
                    await server.transfers.close()

    asyncio.run(main())


def serving(blobs: dict[str, bytes], *, lie_sha: bool = False, lie_size: int = 0,
            fail_after: int | None = None) -> Callable[[ArtifactGet], Awaitable[Outgoing]]:
    """An ``on_request`` serving in-memory blobs (optionally lying or failing mid-way)."""

    async def on_request(get: ArtifactGet) -> Outgoing:
        if get.ref not in blobs:
            raise TransferRefused(f"artifact {get.ref} is not here")
        data = blobs[get.ref]

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(data), MB // 3):
                if fail_after is not None and start >= fail_after:
                    raise OSError("the disk went away")
                yield data[start:start + MB // 3]

        sha = hashlib.sha256(b"other" if lie_sha else data).hexdigest()
        return Outgoing(len(data) + lie_size, sha, "npy", chunks())

    return on_request


async def collect(incoming: Incoming) -> bytes:
    return b"".join([chunk async for chunk in incoming.chunks()])


async def eventually(condition: Callable[[], bool], what: str) -> None:
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


# --- pulls -------------------------------------------------------------------------------------

@pytest.mark.parametrize("size", [0, 1, ARTIFACT_CHUNK_BYTES, 3 * MB + 17],
                         ids=["an empty blob", "one byte", "exactly one chunk", "many chunks"])
def test_a_pull_delivers_the_bytes_and_their_format(size: int) -> None:
    data = os.urandom(size)
    progress: list[tuple[str, int, int]] = []

    async def scenario(client: End, server: End) -> None:
        incoming = await client.transfers.fetch("u1/glucose@1")
        assert (incoming.ref, incoming.size, incoming.format) == ("u1/glucose@1", size, "npy")
        assert await collect(incoming) == data
        assert client.transfers.incoming == {}
        await eventually(lambda: not server.transfers.outgoing, "the sender finished")
        # what the agent's metrics report: the chunks' bytes, each counted once per side
        assert (client.transfers.counts.received, server.transfers.counts.sent) == (size, size)
        assert (client.transfers.counts.sent, server.transfers.counts.received) == (0, 0)

    run(scenario, {"on_request": serving({"u1/glucose@1": data})},
        {"on_progress": lambda *p: progress.append(p)})
    if size:
        assert progress[-1] == ("u1/glucose@1", size, size)
        assert all(b <= c for (_, b, _), (_, c, _) in zip(progress, progress[1:], strict=False))


def test_the_sender_never_exceeds_the_receivers_grant() -> None:
    data = os.urandom(20 * ARTIFACT_CHUNK_BYTES)
    window = 3

    async def scenario(client: End, server: End) -> None:
        incoming = await client.transfers.fetch("m@1")
        reader = incoming.chunks()

        def sent_bytes() -> int:
            return server.put_bytes

        # Nothing consumed yet: the sender stops within the first grant (window chunks; the
        # next piece of one chunk would not fit).
        limit = window * ARTIFACT_CHUNK_BYTES
        await eventually(lambda: sent_bytes() > limit - ARTIFACT_CHUNK_BYTES, "a full window")
        await asyncio.sleep(0.2)
        assert limit - ARTIFACT_CHUNK_BYTES < sent_bytes() <= limit
        received = [await reader.__anext__()]
        received += [chunk async for chunk in reader]
        assert b"".join(received) == data
        # Every put ended within the credit granted before it was sent (the receiver checks
        # that too and would have closed the connection: no violations).
        assert client.violations == [] and server.violations == []
        grants = [m for m in client.sent if isinstance(m, ArtifactGet)]
        assert grants[0].window == window and len(grants) > 1

    run(scenario, {"on_request": serving({"m@1": data})}, {"window": window})


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_64_mb_file_streams_to_disk_without_being_held_in_memory(tmp_path: Path) -> None:
    source = tmp_path / "blob.bin"
    digest = hashlib.sha256()
    with open(source, "wb") as f:
        for _ in range(64):
            block = os.urandom(MB)
            digest.update(block)
            f.write(block)
    sha = digest.hexdigest()
    peak = [0]

    async def on_request(get: ArtifactGet) -> Outgoing:
        return Outgoing(64 * MB, sha, "raw", file_chunks(source))

    async def scenario(client: End, server: End) -> None:
        baseline = _rss_kb()
        incoming = await client.transfers.fetch("big@1")
        size, got = await save(incoming, tmp_path / "copy.bin", max_size=100 * MB)
        assert (size, got) == (64 * MB, sha)
        assert peak[0] - baseline < 32 * 1024, f"RSS grew by {(peak[0] - baseline) // 1024} MB"

    def on_progress(ref: str, done: int, total: int) -> None:
        peak[0] = max(peak[0], _rss_kb())

    run(scenario, {"on_request": on_request}, {"on_progress": on_progress})
    assert (tmp_path / "copy.bin").stat().st_size == 64 * MB
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_a_digest_mismatch_fails_the_pull_and_keeps_nothing(tmp_path: Path) -> None:
    data = os.urandom(MB)

    async def scenario(client: End, server: End) -> None:
        incoming = await client.transfers.fetch("m@1")
        with pytest.raises(TransferError, match="sha256"):
            await save(incoming, tmp_path / "m", max_size=10 * MB)
        assert list(tmp_path.iterdir()) == []
        await eventually(lambda: any(getattr(m, "reason", "").startswith("artifact m@1: recei")
                                     for m in server.received), "the sender heard the abort")

    run(scenario, {"on_request": serving({"m@1": data}, lie_sha=True)})


def test_a_refusal_reaches_the_opener_with_its_reason() -> None:
    async def scenario(client: End, server: End) -> None:
        with pytest.raises(TransferRefused, match="artifact u2/x@1 is not here"):
            await client.transfers.fetch("u2/x@1")
        assert client.transfers.incoming == {}

    run(scenario, {"on_request": serving({})})


def test_pulls_cancelled_before_their_first_chunk_are_aborted() -> None:
    """PULLS fetches, each cancelled while the sender has not answered yet (the run that
    wanted the artifact was cancelled): none stays open on either side."""
    answering = asyncio.Event()

    async def slow(get: ArtifactGet) -> Outgoing:
        await answering.wait()
        return await serving({get.ref: b"late bytes"})(get)

    async def scenario(client: End, server: End) -> None:
        for n in range(PULLS):
            pull = asyncio.ensure_future(client.transfers.fetch(f"m@{n + 1}"))
            await eventually(lambda n=n: len(server.transfers.outgoing) == 1,
                             f"pull {n} reached the sender")
            pull.cancel()
            with pytest.raises(asyncio.CancelledError):
                await pull
            await eventually(lambda: not client.transfers.incoming and
                             not server.transfers.outgoing, f"pull {n} ended on both sides")
        assert sum("the receiver stopped" in getattr(m, "reason", "")
                   for m in client.sent) == PULLS

    run(scenario, {"on_request": slow})


def test_an_oversized_pull_is_refused_before_any_byte_is_written(tmp_path: Path) -> None:
    async def scenario(client: End, server: End) -> None:
        incoming = await client.transfers.fetch("m@1")
        with pytest.raises(TransferRefused, match="more than the 1000 allowed"):
            await save(incoming, tmp_path / "m", max_size=1000)
        await eventually(lambda: not server.transfers.outgoing, "the sender stopped")
        assert list(tmp_path.iterdir()) == []

    run(scenario, {"on_request": serving({"m@1": os.urandom(2 * MB)})})


def test_the_receiver_stopping_early_stops_the_sender() -> None:
    async def scenario(client: End, server: End) -> None:
        incoming = await client.transfers.fetch("m@1")
        reader = incoming.chunks()
        await reader.__anext__()
        await reader.aclose()
        await eventually(lambda: not server.transfers.outgoing, "the sender stopped")
        assert any("the receiver stopped" in getattr(m, "reason", "") for m in client.sent)

    run(scenario, {"on_request": serving({"m@1": os.urandom(8 * MB)})}, {"window": 2})


@pytest.mark.parametrize("lie", ["a read error", "fewer bytes than announced"])
def test_a_sender_failing_mid_way_aborts_the_receiver(lie: str) -> None:
    data = os.urandom(3 * MB)
    on_request = (serving({"m@1": data}, fail_after=MB) if lie == "a read error"
                  else serving({"m@1": data}, lie_size=5))

    async def scenario(client: End, server: End) -> None:
        incoming = await client.transfers.fetch("m@1")
        with pytest.raises(TransferError, match="disk went away|has 3145728 bytes, not"):
            await collect(incoming)

    run(scenario, {"on_request": on_request})


def test_a_dropped_connection_fails_both_sides(tmp_path: Path) -> None:
    async def scenario(client: End, server: End) -> None:
        incoming = await client.transfers.fetch("m@1")
        reader = incoming.chunks()
        await reader.__anext__()
        await server.ws.close(code=CloseCode.GOING_AWAY)
        with pytest.raises(TransferError, match="connection was lost"):
            async for _ in reader:
                pass
        await eventually(lambda: not server.transfers.outgoing, "the sender gave up")
        with pytest.raises(TransferError, match="connection was lost"):
            await client.transfers.fetch("m@1")

    run(scenario, {"on_request": serving({"m@1": os.urandom(8 * MB)})}, {"window": 2})


# --- pushes ------------------------------------------------------------------------------------

def _offer(data: bytes, ref: str = "u1/model@3", purpose: str = "upload",
           sha: str | None = None) -> ArtifactOffer:
    return ArtifactOffer(Transfers.new_id(), ref, len(data),
                         sha or hashlib.sha256(data).hexdigest(), "npz", "model", "cloud",
                         purpose)


async def _bytes(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), MB):
        yield data[start:start + MB]


def test_a_push_returns_once_the_receiver_kept_the_bytes(tmp_path: Path) -> None:
    data = os.urandom(2 * MB + 5)
    offers: list[ArtifactOffer] = []

    async def on_offer(offer: ArtifactOffer, incoming: Incoming) -> None:
        offers.append(offer)
        await save(incoming, tmp_path / "kept", max_size=10 * MB)

    async def scenario(client: End, server: End) -> None:
        offer = _offer(data)
        await client.transfers.push(offer, _bytes(data))
        assert (tmp_path / "kept").read_bytes() == data  # kept before push returned
        assert offers == [offer]
        assert client.transfers.outgoing == {} and server.transfers.incoming == {}

    run(scenario, {"on_offer": on_offer})


def test_a_refused_push_raises_the_reason_and_sends_nothing() -> None:
    async def on_offer(offer: ArtifactOffer, incoming: Incoming) -> None:
        raise TransferRefused("locality local: u1/glucose may not leave invoker pi-u1")

    async def scenario(client: End, server: End) -> None:
        with pytest.raises(TransferRefused, match="may not leave invoker pi-u1"):
            await client.transfers.push(_offer(b"x" * 10), _bytes(b"x" * 10))
        assert not any(isinstance(m, ArtifactPut) for m in client.sent)

    run(scenario, {"on_offer": on_offer})


def test_a_push_whose_bytes_do_not_match_the_offer_fails_on_both_sides(tmp_path: Path) -> None:
    failures: list[BaseException] = []

    async def on_offer(offer: ArtifactOffer, incoming: Incoming) -> None:
        try:
            await save(incoming, tmp_path / "kept", max_size=10 * MB)
        except TransferError as exc:
            failures.append(exc)
            raise

    async def scenario(client: End, server: End) -> None:
        with pytest.raises(TransferError, match="sha256"):
            await client.transfers.push(_offer(b"abc", sha="0" * 64), _bytes(b"abc"))
        assert len(failures) == 1 and not (tmp_path / "kept").exists()

    run(scenario, {"on_offer": on_offer})


def test_a_push_cut_by_a_dropped_connection_fails_both_sides(tmp_path: Path) -> None:
    data = os.urandom(8 * MB)
    started = asyncio.Event()
    failures: list[BaseException] = []

    async def on_offer(offer: ArtifactOffer, incoming: Incoming) -> None:
        reader = incoming.chunks()
        await reader.__anext__()
        started.set()
        try:
            async for _ in reader:
                pass
        except TransferError as exc:
            failures.append(exc)
            raise

    async def scenario(client: End, server: End) -> None:
        push = asyncio.ensure_future(client.transfers.push(_offer(data), _bytes(data)))
        await started.wait()
        await client.ws.close()
        with pytest.raises(TransferError):
            await push
        await eventually(lambda: bool(failures), "the receiver failed")

    run(scenario, {"on_offer": on_offer, "window": 2})


def test_an_offer_is_refused_where_no_offers_are_accepted() -> None:
    async def scenario(client: End, server: End) -> None:
        with pytest.raises(TransferRefused, match="accepts no artifact offers"):
            await client.transfers.push(_offer(b"x"), _bytes(b"x"))

    run(scenario)


# --- broken peers (frames straight into handle) -----------------------------------------------

class Wire:
    def __init__(self) -> None:
        self.sent: list[Message] = []

    async def send(self, message: Message) -> bool:
        self.sent.append(message)
        return True


def _put(tid: str, offset: int, data: bytes, size: int, *, eof: bool = False,
         sha: str | None = None) -> ArtifactPut:
    return ArtifactPut(tid, "m@1", offset, size, data, eof=eof,
                       sha256=sha)


@pytest.mark.parametrize("case", [
    "a chunk for a transfer never opened",
    "a chunk beyond the granted credit",
    "a chunk out of order",
    "a grant for a transfer the peer sends",
])
def test_a_broken_peer_is_a_policy_violation_and_fails_the_transfer(case: str) -> None:
    async def main() -> None:
        wire = Wire()
        transfers = Transfers(wire.send, window=2)
        pull = asyncio.ensure_future(transfers.fetch("m@1"))
        await eventually(lambda: bool(wire.sent), "the get went out")
        tid = wire.sent[0].transfer_id  # type: ignore[union-attr]
        size = 10 * ARTIFACT_CHUNK_BYTES
        chunk = b"x" * ARTIFACT_CHUNK_BYTES
        frame: Message
        if case == "a chunk for a transfer never opened":
            frame = _put("f" * 32, 0, chunk, size)
        elif case == "a chunk beyond the granted credit":
            transfers.handle(_put(tid, 0, chunk, size))
            transfers.handle(_put(tid, len(chunk), chunk, size))
            frame = _put(tid, 2 * len(chunk), chunk, size)
        elif case == "a chunk out of order":
            frame = _put(tid, len(chunk), chunk, size)
        else:
            frame = ArtifactGet(tid, "m@1", 0, 4)
        with pytest.raises(ProtocolError) as caught:
            transfers.handle(frame)
        assert caught.value.close_code == CloseCode.POLICY_VIOLATION
        if case in ("a chunk beyond the granted credit", "a chunk out of order"):
            with contextlib.suppress(TransferError):
                incoming = await pull
                with pytest.raises(TransferError, match="credit|expected byte"):
                    await collect(incoming)
            assert transfers.incoming == {}
        else:
            pull.cancel()
        await transfers.close()

    asyncio.run(main())


def test_late_frames_of_an_ended_transfer_are_ignored() -> None:
    async def main() -> None:
        wire = Wire()
        transfers = Transfers(wire.send)
        pull = asyncio.ensure_future(transfers.fetch("m@1"))
        await eventually(lambda: bool(wire.sent), "the get went out")
        tid = wire.sent[0].transfer_id  # type: ignore[union-attr]
        data = b"abc"
        transfers.handle(_put(tid, 0, data, 3, eof=True, sha=hashlib.sha256(data).hexdigest()))
        assert await collect(await pull) == data
        assert transfers.handle(_put(tid, 0, data, 3)) is True  # ignored, no violation
        assert transfers.handle(ArtifactGet(tid, "m@1", 3, 1)) is True
        assert transfers.outgoing == {}
        await transfers.close()

    asyncio.run(main())
