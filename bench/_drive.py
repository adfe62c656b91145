"""The controller bench's clients: one side of a comparison (its URLs, body and the
controller its CPU is charged to) driven by N concurrent aiohttp clients, each with one
kept-alive connection, its latencies, activation ids and CPU per chunk kept.

Split from ``controller.py`` (one job: driving a side), which imports it as ``_drive``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp  # bench/ is on sys.path (see _report.py)
from _cpu import cpu_seconds
from _paired import Chunk
from edgewhisk_devkit import Controller


@dataclass
class Side:
    """One side of the comparison: client i posts ``body`` to ``urls[i]``; samples grow."""

    urls: list[str]
    body: dict[str, Any]
    headers: dict[str, str]  # the Authorization header, built once
    latencies: list[float] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    pid: int | None = None  # the controller whose CPU time this side's calls are charged
    status: int = 200  # the answer each call must get
    settle: bool = False  # charge the activations still running after the calls (202s)
    cpu_s: float = 0.0
    chunks: list[Chunk] = field(default_factory=list)  # CPU and invokes of each drive

    def reset(self) -> None:
        """Forget the samples so far (the warm-up's)."""
        self.latencies, self.ids, self.wall_s, self.cpu_s = [], [], 0.0, 0.0
        self.chunks = []


async def drive(side: Side, calls: int) -> None:
    """``calls`` posts by ``len(side.urls)`` concurrent clients (one kept-alive connection
    each); their latencies (ms), ``X-OW-Activation-Id`` headers and wall time are added."""
    latencies: list[float] = []
    ids: list[str] = []
    remaining = calls

    async def client(url: str) -> None:
        nonlocal remaining
        connector = aiohttp.TCPConnector(limit=1)
        async with aiohttp.ClientSession(connector=connector, headers=side.headers) as session:
            while remaining > 0:
                remaining -= 1
                start = time.perf_counter()
                async with session.post(url, json=side.body) as response:
                    await response.read()
                    if response.status != side.status:
                        raise RuntimeError(f"{url}: HTTP {response.status}: "
                                           f"{await response.text()}")
                latencies.append((time.perf_counter() - start) * 1000)
                if "X-OW-Activation-Id" in response.headers:
                    ids.append(response.headers["X-OW-Activation-Id"])

    started = time.perf_counter()
    cpu = cpu_seconds(side.pid) if side.pid else 0.0
    await asyncio.gather(*(client(url) for url in side.urls))
    side.wall_s += time.perf_counter() - started
    if side.pid:
        if side.settle:
            await settled(side.pid)
        cpu = cpu_seconds(side.pid) - cpu
        side.cpu_s += cpu
        side.chunks.append(Chunk(cpu, len(latencies)))
    side.latencies += latencies
    side.ids += ids


async def settled(pid: int, quiet_s: float = 0.05, timeout_s: float = 30.0) -> None:
    """Until process ``pid`` stops using CPU (the activations a burst of 202s left running
    have finished), so that their cost is charged to the burst."""
    deadline = time.monotonic() + timeout_s
    before = cpu_seconds(pid)
    while time.monotonic() < deadline:
        await asyncio.sleep(quiet_s)
        now = cpu_seconds(pid)
        if now - before < quiet_s / 10:
            return
        before = now


def authorization(controller: Controller) -> dict[str, str]:
    """The Authorization header of ``controller``'s key, built once per side."""
    user, _, key = controller.auth.partition(":")
    return {"Authorization": aiohttp.encode_basic_auth(user, key)}


def driven(side: Side, n: int) -> None:
    """``n`` calls of ``side`` (its samples grow)."""
    asyncio.run(drive(side, n))


def charged(side: Side, n: int) -> float:
    """``n`` calls of ``side``: the CPU seconds they cost its process."""
    before = side.cpu_s
    asyncio.run(drive(side, n))
    return side.cpu_s - before
