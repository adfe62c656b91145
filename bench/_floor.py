"""The floor of a blocking invoke on this stack, measured in the controller bench's run.

Why: issue 18 aims at 0.3 ms of controller CPU per blocking invoke, a number from no measure of
this machine. What no controller on this stack can avoid is three exchanges, each measured
here bare, with nothing of the controller around it, on the same event loop (uvloop):

- **the client's exchange**: a bare aiohttp server (a child process started by the devkit's
  ``HttpService``, no middleware, no access log) whose one handler reads the JSON body and
  answers JSON; its process's CPU per call, driven by the same client code as the controller;
- **the action proxy's exchange**: ``POST /run`` of the run document to a warm proxy of our
  runtime (``LocalRuntime``) through the project's client (``proxy_http.ProxyHTTP``), the
  document encoded and the answer decoded; this process's thread CPU per call;
- **the durable write**: a record-sized row (a real record's JSON from the controller) inserted
  into SQLite in its own ``BEGIN IMMEDIATE`` transaction, WAL and ``synchronous=NORMAL`` as the
  store opens it, one write per commit (what the group commit does with one client); this
  thread's CPU per call (the store runs it on a worker thread: a hand-off the floor omits).

The parts run in chunks alternating with the controller's own blocking invokes (ABBA order, as
the rest of the bench), so all see the same load; the floor is the sum of the parts.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import _report as report  # bench/ is on sys.path (see _report.py)
from _paired import Chunk, chunked
from edgewhisk_controller.stores.sqlite_schema import table_sql
from edgewhisk_devkit import HttpService
from edgewhisk_runtime.containers.proxy_http import ProxyHTTP
from edgewhisk_runtime.eventloop import run as run_loop

CLIENT, PROXY, WRITE = "client exchange", "proxy exchange", "durable write"
PARTS = (CLIENT, PROXY, WRITE)
"""The floor's parts, in the order the table prints them."""
CONTROLLER = "controller"


@dataclass
class Tally:
    """CPU seconds and calls of one measured part (or of the controller)."""

    cpu_s: float = 0.0
    calls: int = 0

    @property
    def ms(self) -> float:
        """CPU ms per call."""
        return self.cpu_s * 1000 / max(1, self.calls)


@dataclass
class Floor:
    """The parts' tallies and the controller's, from the same alternating chunks."""

    parts: dict[str, Tally] = field(default_factory=lambda: {part: Tally() for part in PARTS})
    controller: Tally = field(default_factory=Tally)

    @property
    def sum_ms(self) -> float:
        """The floor: the parts' CPU ms per call, added."""
        return sum(tally.ms for tally in self.parts.values())


def measure(parts: dict[str, Callable[[int], float]], controller: Callable[[int], float],
            calls: int, chunks: int) -> Floor:
    """``calls`` of each part and of the controller, in ``chunks`` chunks, the order reversed
    every other chunk (``_paired.chunked``); each callable runs ``n`` calls and returns the
    CPU seconds they cost."""
    sides = {**{name: _costed(run) for name, run in parts.items()},
             CONTROLLER: _costed(controller)}
    samples = chunked(sides, calls, max(1, calls // chunks))
    tallies = {name: Tally(sum(c.cpu_s for c in got), sum(c.calls for c in got))
               for name, got in samples.items()}
    return Floor({part: tallies[part] for part in parts}, tallies[CONTROLLER])


def _costed(run: Callable[[int], float]) -> Callable[[int], Chunk]:
    """``run`` whose sample is a chunk: its CPU seconds and its ``n`` calls."""
    return lambda n: Chunk(run(n), n)


def table(floor: Floor) -> str:
    """One row: each part's CPU ms per call, their sum, the controller's and the ratio."""
    controller = floor.controller.ms
    return report.table(
        ((CLIENT, 15), (PROXY, 14), (WRITE, 13), ("the floor", 10), ("controller", 10),
         ("controller / floor", 18)),
        [[*(f"{floor.parts[part].ms:.3f}" for part in PARTS),
          f"{floor.sum_ms:.3f}", f"{controller:.3f}", f"{controller / floor.sum_ms:.2f}"]])


# -- the parts ------------------------------------------------------------------------------

def proxy_exchange(url: str, body: dict[str, object]) -> Callable[[int], float]:
    """``n`` runs of ``body`` on the warm proxy at ``url``: this thread's CPU seconds."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80

    async def exchanges(n: int) -> float:
        http = ProxyHTTP(host, port, keep=2)
        try:
            await http.post("/run", json.dumps(body).encode())  # the connection, opened
            start = time.thread_time()
            for _ in range(n):
                answer = await http.post("/run", json.dumps(body).encode())
                if answer.status != 200:
                    raise RuntimeError(f"{url}/run: HTTP {answer.status}: {answer.body!r}")
                json.loads(answer.body)
            return time.thread_time() - start
        finally:
            http.close()

    return lambda n: run_loop(exchanges(n))


@contextmanager
def durable_write(folder: Path, record: str) -> Iterator[Callable[[int], float]]:
    """A SQLite file in ``folder`` opened as the store opens it; yields: ``n`` inserts of
    ``record`` (a row each, fresh ids), each in its own transaction: this thread's CPU s."""
    conn = sqlite3.connect(folder / "floor.sqlite3", isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(table_sql('"c_activations"'))
        insert = 'INSERT INTO "c_activations" (id, rev, body, start) VALUES (?, ?, ?, ?)'

        def inserts(n: int) -> float:
            start = time.thread_time()
            for _ in range(n):
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(insert, (uuid.uuid4().hex, "1-0", record, time.time_ns()))
                conn.execute("COMMIT")
            return time.thread_time() - start

        yield inserts
    finally:
        conn.close()


class BareServer(HttpService):
    """The bare aiohttp server (``serve`` below) on the devkit's free port, started, waited
    for (until it answers HTTP) and stopped by its pid as every HTTP service of the tests and
    benchmarks is; its log in the folder."""

    name = "bare-aiohttp"

    def command(self) -> list[str]:
        return [sys.executable, __file__, str(self.port)]


@contextmanager
def bare_server(folder: Path) -> Iterator[tuple[str, int]]:
    """A :class:`BareServer` (its log in ``folder``); yields its invoke URL and pid."""
    with BareServer(folder) as server:
        yield f"{server.url}/invoke", server.pid


async def serve(port: int) -> None:
    """Serve ``POST /invoke`` (read a JSON body, answer JSON) on ``port`` until SIGTERM."""
    from aiohttp import web

    async def invoke(request: web.Request) -> web.Response:
        value = await request.json()
        return web.json_response({"result": value})

    app = web.Application()
    app.router.add_post("/invoke", invoke)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    await stopping.wait()
    await runner.cleanup()


if __name__ == "__main__":
    run_loop(serve(int(sys.argv[1])))
