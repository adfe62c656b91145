"""Blocking invokes driven by wrk (a C load generator, ``apt-get install wrk``), for
``scale.py``: the Python clients cost CPU on the same 2 cores as the controllers they measure,
so the 1 vs 2 controllers comparison is run again with clients that cost nearly none.

wrk runs for a duration, not a count: one wrk process per controller URL (the connections
shared evenly, as the Python clients are), one thread each, for ``seconds``; each prints,
from its Lua ``done`` hook, its requests, errors (connection errors and non-2xx answers) and
latency percentiles. A side's p50/p99 are the per-process percentiles weighted by requests
(wrk keeps its samples to itself): close to, not exactly, the percentiles of all samples.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import _report as report  # bench/ is on sys.path (see _report.py)
from _paired import chunked

SCRIPT = """wrk.method = "POST"
wrk.body = "{}"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "%s"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK %%d %%d %%d %%d\\n", summary.requests,
    e.connect + e.read + e.write + e.timeout + e.status,
    latency:percentile(50), latency:percentile(99)))
end
"""
"""POST ``{}`` with the key; ``done`` prints requests, errors, p50 and p99 (microseconds)."""


@dataclass
class Run:
    requests: int = 0
    errors: int = 0
    p50_ms: float = 0.0  # weighted by requests over the wrk processes
    p99_ms: float = 0.0

    def add(self, other: Run) -> None:
        """Fold ``other`` in (percentiles weighted by requests)."""
        total = self.requests + other.requests
        if total:
            self.p50_ms = (self.p50_ms * self.requests + other.p50_ms * other.requests) / total
            self.p99_ms = (self.p99_ms * self.requests + other.p99_ms * other.requests) / total
        self.requests, self.errors = total, self.errors + other.errors


def available() -> bool:
    return shutil.which("wrk") is not None


def drive(urls: list[str], auth: str, clients: int, seconds: float, folder: Path) -> Run:
    """``clients`` connections spread over ``urls`` (one wrk each) for ``seconds``."""
    script = folder / "wrk-invoke.lua"
    script.write_text(SCRIPT % auth)
    procs = [subprocess.Popen(
        ["wrk", "-t1", f"-c{max(1, clients // len(urls))}", f"-d{seconds:g}s",
         "-s", str(script), url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for url in urls]
    run = Run()
    for proc, url in zip(procs, urls, strict=True):
        out, err = proc.communicate(timeout=seconds + 60)
        line = next((x for x in out.splitlines() if x.startswith("WRK ")), None)
        if proc.returncode != 0 or line is None:
            raise RuntimeError(f"wrk against {url} failed ({proc.returncode}): {err or out}")
        requests, errors, p50, p99 = (int(x) for x in line.split()[1:])
        run.add(Run(requests, errors, p50 / 1000, p99 / 1000))
    return run


@dataclass
class Driven:
    """One cluster's invokes driven by wrk over ``CHUNKS`` chunks: its run, the seconds wrk
    ran, and its controllers' CPU time meanwhile."""

    name: str
    run: Run
    seconds: float = 0.0
    cpu_s: float = 0.0

    @property
    def rate(self) -> float:
        return self.run.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.cpu_s / max(1, self.run.requests)


def measure(clusters: list[tuple[str, list[str], str, list[int]]], clients: int,
            seconds: float, chunks: int, folder: Path,
            cpu: Callable[[int], float]) -> list[Driven]:
    """Each of ``clusters`` (name, invoke URLs, Authorization, controller pids) driven by
    ``clients`` wrk connections for ``seconds`` a chunk, alternating (ABBA); ``cpu(pid)``:
    a process's CPU seconds so far. An answer other than 2xx fails the benchmark."""
    def side(name: str, urls: list[str], auth: str, pids: list[int]) -> Callable[[int], Driven]:
        def chunk(_: int) -> Driven:  # one chunk: ``seconds`` of wrk
            before = sum(cpu(p) for p in pids)
            run = drive(urls, auth, clients, seconds, folder)
            if run.errors:
                raise RuntimeError(f"{name}: {run.errors} of wrk's invokes failed")
            return Driven(name, run, seconds, sum(cpu(p) for p in pids) - before)
        return chunk

    samples = chunked({c[0]: side(*c) for c in clusters}, chunks, 1)
    return [_folded(name, got) for name, got in samples.items()]


def _folded(name: str, chunks: list[Driven]) -> Driven:
    """One cluster's chunks as one: their runs folded, their seconds and CPU added."""
    whole = Driven(name, Run())
    for chunk in chunks:
        whole.run.add(chunk.run)
        whole.seconds += chunk.seconds
        whole.cpu_s += chunk.cpu_s
    return whole


def table(driven: list[Driven], python: list[tuple[str, float, float, float, float]]) -> str:
    """wrk's rows and the Python clients' rows of the same clusters (name, invokes/s, p50,
    p99, CPU ms/inv), each followed by its ratio of the second cluster to the first."""
    rows = []
    for label, sides in (("wrk", [(d.name, d.rate, d.run.p50_ms, d.run.p99_ms, d.cpu_ms)
                                  for d in driven]), ("Python", python)):
        rows += [[f"{name} ({label})", f"{rate:.0f}", f"{p50:.2f}", f"{p99:.2f}", f"{cpu:.3f}"]
                 for name, rate, p50, p99, cpu in sides]
        (_, *one), (_, *two) = sides
        rows.append([f"2/1 ({label})", *(f"{b / a if a else float('nan'):.2f}"
                                          for a, b in zip(one, two, strict=True))])
    return report.table((("cluster", -24), ("invokes/s", 9), ("p50 ms", 7), ("p99 ms", 7),
                         ("CPU ms/inv", 10)), rows)
