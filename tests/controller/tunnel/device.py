"""A device for the tunnel tests: a real aiohttp WebSocket client speaking the protocol by hand.

Why not the agent: these tests must send what a correct agent never would (malformed,
oversized, foreign frames; silence instead of heartbeats) and decide exactly when to answer a
``run``. ``Device`` reads every frame in one task: it echoes the controller's heartbeats
(unless told to stay silent), queues ``run`` messages, and records how the connection closed.
``Api`` is the namespace's REST API through the one REST client, run on a worker thread (the
event loop must keep running while a test waits for an activation).

Artifacts: once registered, a device routes ``artifact.*`` frames to a real ``Transfers``:
it serves pulls of what ``blobs`` holds (key -> bytes) and keeps pushed preloads in
``preloaded``; ``transfers.fetch``/``push`` pull from and upload to the controller.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import ssl
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import requests
from edgewhisk_client import Client
from edgewhisk_tunnel import (
    TUNNEL_PATH,
    ArtifactGet,
    ArtifactOffer,
    Heartbeat,
    Message,
    Outcome,
    Register,
    Registered,
    Result,
    Run,
    decode,
)
from edgewhisk_tunnel.transfers import Incoming, Outgoing, TransferRefused, Transfers
from tunnel.wire import FRAMES, send_message

WAIT_S = 30.0


def ws_url(api_host: str) -> str:
    return api_host.replace("https://", "wss://").replace("http://", "ws://") + TUNNEL_PATH


@dataclass
class Device:
    http: aiohttp.ClientSession
    api_host: str
    token: str
    id: str
    memory_mb: int = 1_000_000  # the most free memory: least-loaded placement picks it
    kinds: tuple[str, ...] = ("python:3",)
    extra: dict[str, Any] = field(default_factory=dict)  # more register fields
    ssl: ssl.SSLContext | bool = True
    echo: bool = True  # answer the controller's heartbeats
    beat_s: float = 0.2  # our own heartbeats; 0: none
    registered: Registered | None = None
    runs: asyncio.Queue[Run] = field(default_factory=asyncio.Queue)
    received: list[Message] = field(default_factory=list)
    rtt_samples: list[float] = field(default_factory=list)
    ws: aiohttp.ClientWebSocketResponse | None = None
    blobs: dict[str, bytes] = field(default_factory=dict)      # what it serves
    preloaded: dict[str, bytes] = field(default_factory=dict)  # what was pushed to it
    offers: list[str] = field(default_factory=list)  # every version offered to it, in order
    hold: asyncio.Event | None = None  # set: an offer's bytes are read (None: at once)
    transfers: Transfers | None = None
    _echoes: dict[int, asyncio.Future[None]] = field(default_factory=dict)
    _sync_seq: int = 1_000_000
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    _closed: asyncio.Future[tuple[int | None, str]] | None = None

    async def connect(self, *, register: bool = True, **fields: Any) -> Device:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        self.ws = await self.http.ws_connect(ws_url(self.api_host), headers=headers,
                                             ssl=self.ssl, autoclose=True, heartbeat=None)
        self._closed = asyncio.get_running_loop().create_future()
        if register:
            await self.send(self.register_message(**fields))
            frame = await asyncio.wait_for(self.ws.receive(), WAIT_S)
            assert frame.type is aiohttp.WSMsgType.TEXT, frame
            message = decode(frame.data)
            assert isinstance(message, Registered), message
            self.registered = message
            self.transfers = Transfers(self._send_ok, on_request=self._serve,
                                       on_offer=self._accept)
        self._tasks.append(asyncio.create_task(self._read()))
        if self.beat_s and register:
            self._tasks.append(asyncio.create_task(self._beat()))
        return self

    def register_message(self, **fields: Any) -> Register:
        base: dict[str, Any] = {"id": self.id, "memory_mb": self.memory_mb,
                                "kinds": self.kinds, "agent_version": "test", **self.extra}
        return Register(**{**base, **fields})

    async def send(self, message: Message) -> None:
        assert self.ws is not None
        await send_message(self.ws, message)

    async def _send_ok(self, message: Message) -> bool:
        if self.ws is None or self.ws.closed:
            return False
        await self.send(message)
        return True

    async def _serve(self, get: ArtifactGet) -> Outgoing:
        if get.ref not in self.blobs:
            raise TransferRefused(f"artifact {get.ref} is not on device {self.id}")
        data = self.blobs[get.ref]

        async def chunks() -> Any:
            yield data

        return Outgoing(len(data), hashlib.sha256(data).hexdigest(), "bytes", chunks())

    async def _accept(self, offer: ArtifactOffer, incoming: Incoming) -> None:
        self.offers.append(offer.ref)
        if self.hold is not None:
            await self.hold.wait()
        if offer.ref in self.preloaded:
            raise TransferRefused(f"cached: {offer.ref} is on device {self.id}")
        self.preloaded[offer.ref] = b"".join([c async for c in incoming.chunks()])

    async def send_text(self, text: str) -> None:
        assert self.ws is not None
        await self.ws.send_str(text)

    async def send_bytes(self, data: bytes) -> None:
        assert self.ws is not None
        await self.ws.send_bytes(data)

    async def _read(self) -> None:
        assert self.ws is not None and self._closed is not None
        code, reason = None, ""
        while True:
            frame = await self.ws.receive()
            if frame.type is aiohttp.WSMsgType.CLOSE:
                code, reason = frame.data, frame.extra or ""
                break
            if frame.type not in FRAMES:
                code = self.ws.close_code
                break
            message = decode(frame.data)
            self.received.append(message)
            if self.transfers is not None and self.transfers.handle(message):
                continue
            if isinstance(message, Heartbeat):
                if message.echo_ms is None and self.echo:
                    await self.send(message.reply(_ms()))
                elif message.echo_ms is not None:
                    self.rtt_samples.append(_ms() - message.echo_ms)
                    waiter = self._echoes.pop(message.seq, None)
                    if waiter is not None and not waiter.done():
                        waiter.set_result(None)
            elif isinstance(message, Run):
                await self.runs.put(message)
        if self.transfers is not None:
            self.transfers.abort_all()
        if not self._closed.done():
            self._closed.set_result((code, reason))

    async def _beat(self) -> None:
        seq = 0
        while self.ws is not None and not self.ws.closed and self.echo:
            seq += 1
            await self.send(Heartbeat(seq=seq, sent_ms=_ms()))
            await asyncio.sleep(self.beat_s)

    async def sync(self) -> None:
        """Wait until the controller has read everything sent so far (its reader is one
        task: the echo of this heartbeat comes after every earlier frame was handled)."""
        self._sync_seq += 1
        seq = self._sync_seq
        waiter = self._echoes[seq] = asyncio.get_running_loop().create_future()
        await self.send(Heartbeat(seq=seq, sent_ms=_ms()))
        await asyncio.wait_for(waiter, WAIT_S)

    @property
    def is_open(self) -> bool:
        return self._closed is not None and not self._closed.done()

    async def next_run(self, timeout_s: float = WAIT_S) -> Run:
        return await asyncio.wait_for(self.runs.get(), timeout_s)

    async def answer(self, run: Run, result: Any | None = None,
                     logs: tuple[str, ...] = ()) -> None:
        """Send the ``result`` frame of ``run``: its params echoed back, unless ``result``."""
        response = dict(run.value) if result is None else result
        await self.send(Result(run.activation_id, outcome=Outcome(
            status=200, response=response, logs=logs, init_failed=False, init_ms=None,
            duration_ms=3, container_id="test")))

    async def closed(self, timeout_s: float = WAIT_S) -> tuple[int | None, str]:
        """How the controller closed the connection: (close code, reason)."""
        assert self._closed is not None
        return await asyncio.wait_for(asyncio.shield(self._closed), timeout_s)

    async def close(self) -> None:
        if self.transfers is not None:
            await self.transfers.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.ws is not None:
            await self.ws.close()


def _ms() -> int:
    return int(time.monotonic() * 1000)


def basic(auth: str) -> str:
    """``uuid:key`` as an ``Authorization: Basic`` value."""
    return "Basic " + base64.b64encode(auth.encode()).decode()


class Api:
    """The REST API of one namespace key, called from the test's event loop: the one REST
    client (:class:`edgewhisk_client.Client`) runs on a worker thread, so the loop keeps
    serving the devices while a call waits (e.g. a blocking invoke the device must answer)."""

    def __init__(self, api_host: str, auth: str, ca_file: str | None = None) -> None:
        self.api_host = api_host
        self.auth = auth
        self.ca_file = ca_file
        self.client = Client(api_host, auth, ca_file=ca_file)

    async def request(self, method: str, path: str, *, auth: str | bool = True,
                      **kwargs: Any) -> requests.Response:
        """The raw answer; ``auth``: True the namespace key, False none, a string another
        ``uuid:key``."""
        if auth is True:
            return await asyncio.to_thread(self.client.request, method, path, **kwargs)
        with Client(self.api_host, auth or None, ca_file=self.ca_file) as client:
            return await asyncio.to_thread(client.request, method, path, **kwargs)

    async def call(self, method: str, path: str, body: Any = None, *, auth: str | bool = True,
                   namespace: str | None = None, **kwargs: Any) -> tuple[int, Any]:
        """(status, JSON body or None) of ``method path`` in ``namespace`` (the key's own)."""
        if body is not None:
            kwargs["json"] = body
        response = await self.request(method, path, auth=auth, namespace=namespace, **kwargs)
        return response.status_code, response.json() if response.content else None

    async def token(self, id: str) -> str:
        status, body = await self.call("POST", "invokers/tokens", {"id": id})
        assert status == 200, body
        return str(body["token"])

    async def action(self, name: str, code: str, *, node: str | None = None,
                     strict: bool = True, idempotent: bool = False,
                     policies: Sequence[Mapping[str, Any]] = (),
                     annotations: Sequence[Mapping[str, Any]] = (), **fields: Any) -> None:
        """Create ``name``; ``node``: placed by ``policy.fn(node=..., strict=...)``;
        ``policies``: more edgewhisk policies as ``describe`` writes them."""
        notes = list(annotations)
        chosen = [dict(p) for p in policies]
        if node is not None:
            chosen.append({"type": "fn", "node": node, "strict": strict})
        if chosen:
            notes.append({"key": "edgewhisk", "value": {
                "version": 1, "consumes": [], "produces": [], "gates": [],
                "policies": chosen}})
        if idempotent:
            notes.append({"key": "idempotent", "value": True})
        body = {"exec": {"kind": "python:3", "code": code}, "annotations": notes, **fields}
        status, answer = await self.call("PUT", f"actions/{name}?overwrite=true", body)
        assert status == 200, answer

    async def invoke(self, name: str, params: dict[str, Any], *, blocking: bool = False) -> Any:
        query = "?blocking=true" if blocking else ""
        status, body = await self.call("POST", f"actions/{name}{query}", params)
        assert status in (200, 202, 500, 502), body  # 500, 502: a failed blocking invoke
        return body

    async def activation(self, activation_id: str, timeout_s: float = WAIT_S) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            status, body = await self.call("GET", f"activations/{activation_id}")
            if status == 200:
                return dict(body)
            assert status == 202, body  # accepted, still running
            await asyncio.sleep(0.05)
        raise AssertionError(f"activation {activation_id} was not recorded in {timeout_s}s")

    async def invokers(self) -> list[dict[str, Any]]:
        status, body = await self.call("GET", "invokers")
        assert status == 200, body
        return list(body)

    def close(self) -> None:
        self.client.close()
