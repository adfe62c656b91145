"""The transfer part of ``bench/artifacts.py``: a model from the node store, through the tunnel,
from S3.

Three ways an invoker comes to hold a model of a given size, each measured with the code that
does it in production:

- **cached**: the model is already in the node store. ``stage()`` (what the edge agent and the
  controller's local invoker call before every run) finds it with the same sha256 and hands out
  its path: an index lookup, no bytes move.
- **tunnel**: a real ``edgewhisk controller`` (edge-only, its blob store a local folder) and a
  real ``edgewhisk invoker`` agent with its own ``--store``, over a real WebSocket on loopback.
  Each repetition uploads a new version of ``bench-model`` (``PUT .../artifacts``, not timed),
  then invokes a warm action that consumes it twice: the first invoke misses the store and the
  agent pulls the blob through the tunnel (``artifact.get``, 1 MiB binary chunks with credit, sha256
  checked at the end) before the run; the second hits. The transfer costs the difference
  (miss minus hit, both whole warm activations), so the activation's own overhead cancels.
- **S3**: the controller's ``S3BlobStore`` (boto3) against a moto server on loopback: the blob
  read back in 1 MiB chunks into a file, hashed as it arrives, as a fetch into a store does.

Progress lines go to stderr while bytes move (the tunnel's from the agent's scratch file
growing in its store, S3's from the chunks read). Everything started here (moto, the
controller, the agent and its containers) is stopped by pid, and the temporary folder removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgewhisk_cli.action import python_action
from edgewhisk_client import Client
from edgewhisk_controller.blobs.s3 import S3BlobStore
from edgewhisk_devkit import S3, UNLIMITED, AgentSpec, Controller, Fleet
from edgewhisk_runtime.artifacts.stage import stage
from edgewhisk_runtime.artifacts.store import NodeStore
from edgewhisk_tunnel import Consumed

MB = 1024 * 1024
MODEL = "bench-model"
ACTION = "bench-consume"
AGENT = "bench-agent"
CONSUMER = f'''from edgewhisk import consumes


@consumes.model("{MODEL}", name="model")
def main(args, model):
    return {{"ok": True}}
'''
SOURCES = ("cached", "tunnel", "s3")
UPLOAD_TIMEOUT_S = 600.0
LIMITS = {"timeout": 120_000, "memory": 256}  # a big model's pull happens inside the run


@dataclass
class Model:
    """A blob of ``size`` random bytes on disk (incompressible, as model weights are)."""

    path: Path
    size: int
    sha256: str

    @classmethod
    def make(cls, folder: Path, size_mb: float) -> Model:
        path, digest = folder / f"model-{size_mb:g}MB.bin", hashlib.sha256()
        size = int(size_mb * MB)
        with open(path, "wb") as out:
            for start in range(0, size, MB):
                chunk = os.urandom(min(MB, size - start))
                digest.update(chunk)
                out.write(chunk)
        return cls(path, size, digest.hexdigest())


@dataclass
class Samples:
    """Latencies (ms) of one source at one size; the tunnel also keeps its whole activations."""

    source: str
    size: int
    ms: list[float] = field(default_factory=list)
    activation_ms: list[float] = field(default_factory=list)


def say(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


# --- cached: a node store hit ------------------------------------------------------------------

async def cached(model: Model, folder: Path, repeat: int) -> Samples:
    """``stage()`` of a consume the store already holds, ``repeat`` times."""
    store = NodeStore(folder / "store", capacity_bytes=4 * model.size + MB, by="bench")
    key = f"guest/{MODEL}@1"
    copy = folder / "store-in.bin"
    os.link(model.path, copy)  # add_blob moves its file in; the model stays for the others
    await store.add_blob(key, copy, sha256=model.sha256, size=model.size, format="bytes",
                         kind="model", locality="cloud", pinned=False)
    consumed = Consumed(name="model", kind="model", key=key, sha256=model.sha256,
                        size=model.size, format="bytes", locality="cloud")

    async def never(_: Any, __: Path) -> None:
        raise AssertionError("a cached model was fetched")

    samples = Samples("cached", model.size)
    for _ in range(repeat):
        started = time.perf_counter()
        await stage(store, [consumed], never, tmp=store.tmp)
        samples.ms.append((time.perf_counter() - started) * 1000)
    store.remove(key)
    return samples


# --- S3: moto server, the controller's S3 blob store --------------------------------------------

async def from_s3(model: Model, endpoint: str, folder: Path, repeat: int) -> Samples:
    """Put the model once, then read it back ``repeat`` times into a file, verifying it."""
    store = S3BlobStore(f"bench{uuid.uuid4().hex[:12]}", endpoint_url=endpoint)
    key = f"guest/{MODEL}@1"

    async def chunks() -> Any:
        with open(model.path, "rb") as f:
            while data := f.read(MB):
                yield data

    try:
        await store.put(key, chunks(), sha256=model.sha256)
        samples = Samples("s3", model.size)
        for rep in range(repeat):
            started, digest, done, shown = time.perf_counter(), hashlib.sha256(), 0, 0
            with open(folder / "s3-out.bin", "wb") as out:
                async for data in store.get(key):
                    digest.update(data)
                    out.write(data)
                    done += len(data)
                    if done - shown >= model.size // 4 and done < model.size:
                        shown = done
                        say(f"s3 {model.size // MB} MB #{rep + 1}: {done // MB}/"
                            f"{model.size // MB} MB")
            if digest.hexdigest() != model.sha256:
                raise RuntimeError("S3 returned other bytes than were put")
            samples.ms.append((time.perf_counter() - started) * 1000)
            say(f"s3 {model.size // MB} MB #{rep + 1}: done in {samples.ms[-1]:.0f} ms")
        await store.delete(key)
        return samples
    finally:
        await store.close()


# --- tunnel: a real controller and a real agent -------------------------------------------------

class Watcher:
    """Progress of a pull while it runs: the agent writes it to a scratch file in its store's
    ``tmp/`` (``.fetch-*.part``, then renamed in), so its size is how far the transfer got."""

    def __init__(self, store: Path, label: str, size: int) -> None:
        self.store, self.label, self.size = store, label, size
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> Watcher:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()

    def _watch(self) -> None:
        shown, sizes = 0, []
        while not self.stop.wait(0.05):
            with contextlib.suppress(OSError):  # files come and go while we look
                sizes = [p.stat().st_size for p in (self.store / "tmp").iterdir()
                         if "fetch-" in p.name and p.is_file()]
            done = max(sizes, default=0)
            if done - shown >= max(self.size // 4, MB) and done < self.size:
                shown = done
                say(f"{self.label}: {done // MB}/{self.size // MB} MB through the tunnel")


class Tunnel:
    """An edge-only controller and one agent (own store) on its tunnel; the consumer action."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.controller = Controller(workdir / "controller", "--invokers", "0", *UNLIMITED,
                                     log=workdir / "controller.log")
        self.agent = AgentSpec(AGENT, ("--memory", "1024", "--store-cap", "2GB", "--no-battery"))
        self.client: Client | None = None
        self.fleet: Fleet | None = None
        self.version = 0

    def __enter__(self) -> Tunnel:
        try:
            self.controller.start()
            self.client = self.controller.client(timeout_s=UPLOAD_TIMEOUT_S)
            self.fleet = Fleet(self.client, [self.agent], self.workdir,
                               stores=self.workdir / "stores").start()
            source = self.workdir / "consume.py"
            source.write_text(CONSUMER)
            self.client.actions.put(ACTION, python_action(ACTION, source, limits=LIMITS))
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fleet is not None:
            self.fleet.stop()
        if self.client is not None:
            self.client.close()
        self.controller.stop()

    def upload(self, model: Model) -> None:
        """A new version of the model into the controller's blob store (REST, streamed)."""
        assert self.client is not None
        with open(model.path, "rb") as body:
            stored = self.client.artifacts.put(MODEL, body, kind="model", format="bytes",
                                               locality="cloud", sha256=model.sha256)
        self.version = int(stored["version"])

    def invoke(self) -> float:
        """One blocking invoke of the consumer; its round trip in ms."""
        assert self.client is not None
        done = self.client.actions.invoke(ACTION, {})
        if not done.success:
            raise RuntimeError(f"{ACTION} v{self.version}: activation {done.id} failed: "
                               f"{done.response}")
        return done.round_trip_s * 1000

    def pids(self) -> list[int]:
        """The controller's, the agent's and its containers' (noted when they stopped)."""
        agents = [] if self.fleet is None else list(self.fleet.agents.values())
        return [self.controller.pid, *(a.pid for a in agents),
                *(pid for a in agents for pid in a.stopped_children)]

    def measure(self, model: Model, repeat: int) -> Samples:
        samples = Samples("tunnel", model.size)
        store = self.workdir / "stores" / AGENT
        for rep in range(repeat):
            self.upload(model)
            label = f"tunnel {model.size // MB} MB #{rep + 1} (v{self.version})"
            with Watcher(store, label, model.size):
                miss = self.invoke()
            hit = self.invoke()
            samples.ms.append(max(miss - hit, 0.0))
            samples.activation_ms.append(miss)
            say(f"{label}: done, {model.size // MB} MB in {samples.ms[-1]:.0f} ms "
                f"(activation {miss:.0f} ms, then a cache hit {hit:.0f} ms)")
        return samples


# --- all three ------------------------------------------------------------------------------------

def run(sizes_mb: list[float], repeat: int, workdir: Path) -> tuple[list[Samples], list[int]]:
    """Every source at every size, in one run (same machine, same minute); and the pids of
    every process it started (all stopped by now: moto, controller, agent, containers)."""
    moto = S3(workdir / "moto").start()
    results: list[Samples] = []
    tunnel = Tunnel(workdir)
    try:
        with tunnel:
            warm = Model.make(workdir, 0.01)
            tunnel.upload(warm)
            say("tunnel: warming the consumer action (cold start on the agent)")
            tunnel.invoke()
            for size_mb in sizes_mb:
                model = Model.make(workdir, size_mb)
                say(f"{size_mb:g} MB: cached, tunnel, S3")
                results.append(asyncio.run(cached(model, workdir / f"c{size_mb:g}", repeat)))
                results.append(tunnel.measure(model, repeat))
                results.append(asyncio.run(from_s3(model, moto.url, workdir, repeat)))
                model.path.unlink()
    finally:
        moto.stop()
    return results, [moto.pid, *tunnel.pids()]
