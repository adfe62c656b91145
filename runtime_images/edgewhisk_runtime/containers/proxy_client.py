"""The HTTP half every backend shares: talk to an action proxy on a local port.

Why one :class:`~.proxy_http.ProxyHTTP` per container: it keeps up to ``concurrency + 1``
connections alive to that one proxy with the request heads built once, so a warm /run is one
write and one parse on an open socket, and destroying the container closes exactly its
connections. Transport failures become the two typed errors the pool understands
(:class:`ContainerUnreachable`, :class:`ContainerTimeout`).

Every answer is read with the strict JSON reader (``edgewhisk_json``): an answer that is not
standard JSON (``NaN``, ``Infinity``, a lone surrogate, a number beyond a double, nesting
deeper than 128) comes back as its raw text, which the controller records as upstream's
"The action did not produce a valid JSON response: <text>" (an action developer error), so such
a result can never break a record, a store write or a tunnel frame later.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import edgewhisk_json

from edgewhisk_runtime.artifacts.values import GATES_HEADER, GateVerdict
from edgewhisk_runtime.containers.exceptions import (
    ContainerStartError,
    ContainerTimeout,
    ContainerUnreachable,
)
from edgewhisk_runtime.containers.exchange import Exchange
from edgewhisk_runtime.containers.interface import Container, RunReply
from edgewhisk_runtime.containers.logs import LogCollector
from edgewhisk_runtime.containers.proxy_http import ProxyHTTP

READY_POLL_S = 0.01
READY_PROBE_TIMEOUT_S = 2.0


class ProxyContainer(Container):
    """A container whose proxy listens on ``http://host:port``; subclasses own its lifecycle."""

    def __init__(self, container_id: str, kind: str, host: str, port: int,
                 concurrency: int) -> None:
        self.id = container_id
        self.kind = kind
        self.port = port  # held (containers/ports.py) until the subclass destroys it
        self.url = f"http://{host}:{port}"
        self.logs = LogCollector()
        self.exchange: Exchange | None = None  # the backend sets it: staged runs go through it
        self._http = ProxyHTTP(host, port, keep=max(1, concurrency) + 1)

    async def init(self, payload: Mapping[str, Any],
                   timeout: float | None = None) -> tuple[int, Any]:
        reply = await self._post("/init", {"value": dict(payload)}, timeout)
        return reply.status, reply.body

    async def run(self, payload: Mapping[str, Any],
                  timeout: float | None = None) -> RunReply:
        if self.exchange is None:
            return await self._post("/run", payload, timeout)
        return await self.exchange.run(payload, lambda doc: self._post("/run", doc, timeout))

    async def _post(self, path: str, doc: Mapping[str, Any],
                    timeout: float | None) -> RunReply:
        body = json.dumps(doc).encode()
        try:
            async with asyncio.timeout(timeout):
                status, headers, data = await self._http.post(path, body)
        except TimeoutError as exc:  # first: a TimeoutError is an OSError too
            raise ContainerTimeout(f"{self.id}: no answer to {path} in {timeout} s") from exc
        except OSError as exc:
            raise ContainerUnreachable(f"{self.id}: {path} failed: {exc}") from exc
        gates = _verdicts(headers.get(GATES_HEADER))
        try:
            return RunReply(status, edgewhisk_json.loads(data), gates)
        except edgewhisk_json.JSONError:
            return RunReply(status, data.decode("utf-8", "replace"), gates)

    async def wait_ready(self, timeout: float, alive: Callable[[], bool]) -> None:
        """Until the proxy answers any HTTP request (a GET is neither /init nor /run)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                async with asyncio.timeout(READY_PROBE_TIMEOUT_S):
                    await self._http.probe()
                return
            except OSError as exc:  # refused, reset, or the probe's timeout
                if not alive():
                    raise ContainerStartError(f"{self.id} exited before answering HTTP") from exc
                if time.monotonic() > deadline:
                    raise ContainerStartError(
                        f"{self.id} did not answer HTTP in {timeout} s: {exc}") from exc
            await asyncio.sleep(READY_POLL_S)

    def is_alive(self) -> bool:
        return self.alive

    async def close_session(self) -> None:
        self._http.close()


def _verdicts(header: str | None) -> tuple[GateVerdict, ...]:
    """The verdicts of an ``X-Edgewhisk-Gates`` header; none when it is absent or is not a
    JSON array of verdicts (a blackbox proxy may send anything: the controller then finds
    the verdicts missing and says so in the record)."""
    if not header:
        return ()
    try:
        docs = edgewhisk_json.loads(header)
    except edgewhisk_json.JSONError:
        return ()
    verdicts = [GateVerdict.from_json(doc) for doc in docs] if isinstance(docs, list) else [None]
    return () if None in verdicts else tuple(v for v in verdicts if v is not None)
