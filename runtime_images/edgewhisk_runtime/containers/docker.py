"""DockerBackend: each container is the runtime image, run through the ``docker`` SDK.

Works against Docker and against podman's Docker-compatible service (what the tests use).
Why these choices:
- the SDK is synchronous, so its calls run in the loop's thread executor, and one daemon thread
  per container reads its output;
- output comes from ``attach`` (stdout and stderr demultiplexed), established after ``create``
  and before ``start``: nothing the proxy writes can be missed, and it arrives live (podman's
  ``logs --follow`` polls its log file, which would add up to ~250 ms to every warm /run's log
  collection);
- port 8080 is published on 127.0.0.1 only, on a free port (retried if taken meanwhile);
- ``memory_mb`` becomes ``--memory`` and ``--memory-swap`` (no swap), as upstream's
  DockerContainerFactory does; podman with runc accepts it under cgroupfs (cgroup v1) here;
  CPU is a share proportional to the memory limit (upstream's rule: 256 MB weighs the
  default 1024);
- what an action can see and do (:data:`HARDENING`, :meth:`DockerBackend.settings`): the
  default bridge network, never the host's unless ``run_options`` say so; a read-only root
  with a private tmpfs ``/tmp`` (HOME and TMPDIR point there); no capabilities
  (``cap_drop=["ALL"]``) and ``no-new-privileges``; a pids limit; and of the invoker's files
  only its own :class:`~.exchange.Exchange` folders (``in/`` read-only, ``out/`` writable, at
  the same paths as on the host): never the node store itself.
Every container carries ``labels`` (by default ``org.edgewhisk.backend=<id of this backend>``)
so that leftovers can be found by label, never by name; its exchange folder is an
``edgewhisk-container-<owner>-*`` work folder (``edgewhisk_runtime.workdirs``), removed with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import docker
import docker.errors
from docker.models.containers import Container as SdkContainer

from edgewhisk_runtime import workdirs
from edgewhisk_runtime.containers import ports
from edgewhisk_runtime.containers.exceptions import (
    BackendUnavailable,
    ContainerStartError,
    ImageUnavailable,
    UnsupportedKind,
)
from edgewhisk_runtime.containers.exchange import Exchange
from edgewhisk_runtime.containers.interface import BLACKBOX, ActionSpec, ContainerBackend
from edgewhisk_runtime.containers.proxy_client import ProxyContainer

HOST = "127.0.0.1"
PROXY_PORT = "8080/tcp"
READY_TIMEOUT_S = 60.0
START_ATTEMPTS = 3
BACKEND_LABEL = "org.edgewhisk.backend"
DEFAULT_IMAGES = {"python:3": "localhost/edgewhisk/python3-ai:latest"}
# Upstream's Messages.memoryExhausted, verbatim; the OOM-kill counters of cgroup v1 and v2.
MEMORY_EXHAUSTED = "The action exhausted its memory and was aborted."
OOM_FILES = ("/sys/fs/cgroup/memory/memory.oom_control", "/sys/fs/cgroup/memory.events")
PIDS_LIMIT = 512
HARDENING: dict[str, Any] = {"read_only": True, "cap_drop": ["ALL"],
                             "security_opt": ["no-new-privileges"], "pids_limit": PIDS_LIMIT}
"""The settings every container gets (``run_options`` may add to them, never loosen them by
accident: a key given there wins, so loosening is explicit)."""
SCRATCH = "/tmp"

T = TypeVar("T")


class DockerContainer(ProxyContainer):
    """One container of the image, its output read by an attach thread."""

    def __init__(self, backend: DockerBackend, sdk: SdkContainer, kind: str, port: int,
                 concurrency: int, exchange: Exchange, folder: Path) -> None:
        super().__init__(f"docker-{sdk.id[:12]}", kind, HOST, port, concurrency)
        self.sdk = sdk
        self.exchange = exchange
        self.folder = folder
        self._backend = backend
        self._running = True
        self._destroyed = False
        self._ended = asyncio.Event()

    async def attach(self) -> None:
        """Start reading stdout/stderr (call before the container starts)."""
        loop = asyncio.get_running_loop()
        stream = await self._backend.call(functools.partial(
            self.sdk.attach, stdout=True, stderr=True, stream=True, logs=False, demux=True))
        threading.Thread(target=self._pump, args=(loop, stream), daemon=True,
                         name=f"attach-{self.id}").start()

    def _pump(self, loop: asyncio.AbstractEventLoop, stream: Any) -> None:
        try:
            for out, err in stream:
                now = time.time_ns()
                if out:
                    loop.call_soon_threadsafe(self.logs.feed, "stdout", out, now)
                if err:
                    loop.call_soon_threadsafe(self.logs.feed, "stderr", err, now)
        except Exception:  # the service went away or the container was removed: end of output
            pass
        finally:
            with contextlib.suppress(RuntimeError):  # the loop is closed already
                loop.call_soon_threadsafe(self._end)

    def _end(self) -> None:
        self._running = False
        self.logs.end("stdout")
        self.logs.end("stderr")
        self._ended.set()

    @property
    def alive(self) -> bool:
        return self._running

    async def failure_reason(self) -> str | None:
        """Upstream's ``Messages.memoryExhausted`` when the container's memory cgroup OOM-killed
        a process (the action child dies; the proxy, PID 1, usually survives and only reports
        "command exited"), or docker says the container itself was OOM-killed."""
        if self._running:
            with contextlib.suppress(docker.errors.DockerException, OSError, BackendUnavailable):
                result = await self._backend.call(functools.partial(
                    self.sdk.exec_run, ["cat", *OOM_FILES], stdout=True, stderr=False))
                counts = re.findall(rb"^oom_kill (\d+)$", result.output or b"", re.MULTILINE)
                return MEMORY_EXHAUSTED if any(int(n) for n in counts) else None
        with contextlib.suppress(docker.errors.DockerException, OSError, BackendUnavailable):
            await self._backend.call(self.sdk.reload)
            if self.sdk.attrs.get("State", {}).get("OOMKilled"):
                return MEMORY_EXHAUSTED
        return None

    async def destroy(self) -> None:
        if self._destroyed:
            return
        self._destroyed = True
        await self.close_session()
        try:
            await self._backend.call(functools.partial(self.sdk.remove, force=True))
        except docker.errors.NotFound:
            pass
        finally:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._ended.wait(), 5.0)
            if not self._ended.is_set():
                self._end()
            shutil.rmtree(self.folder, ignore_errors=True)
            ports.release(self.port)


class DockerBackend(ContainerBackend):
    """Kinds: those in ``images`` (default: python:3 -> the python3-ai image) and blackbox.

    ``env`` is added to every container's environment; ``labels`` to its labels;
    ``run_options`` are passed to ``containers.create`` over :meth:`settings` (e.g.
    ``network_mode="host"``, asked for explicitly). ``workroot`` is where each container's
    exchange folder is made (default: the temporary folder; put it on the node store's file
    system so that staging an artifact is a hard link): its ``in/`` and ``out/`` are mounted
    at the same path inside, so the staged paths of the ``edgewhisk`` /run field and the
    produce root mean the same inside and outside (``edgewhisk_runtime.artifacts.stage``).
    """

    def __init__(self, client: docker.DockerClient, images: Mapping[str, str] | None = None, *,
                 env: Mapping[str, str] | None = None, labels: Mapping[str, str] | None = None,
                 run_options: Mapping[str, Any] | None = None,
                 workroot: Path | None = None) -> None:
        self.client = client
        self.images = dict(DEFAULT_IMAGES if images is None else images)
        self.env = dict(env or {})
        self.labels = dict(labels or {BACKEND_LABEL: uuid.uuid4().hex})
        self.run_options = dict(run_options or {})
        self.workroot = workroot
        self.kinds = frozenset({*self.images, BLACKBOX})

    async def call(self, fn: Callable[[], T]) -> T:
        """Run one blocking SDK call in the executor; API failures become BackendUnavailable."""
        try:
            return await asyncio.get_running_loop().run_in_executor(None, fn)
        except docker.errors.NotFound:
            raise
        except (docker.errors.DockerException, OSError) as exc:
            raise BackendUnavailable(f"docker: {exc}") from exc

    def image_for(self, spec: ActionSpec) -> str:
        if spec.kind == BLACKBOX and spec.image:
            return spec.image
        if spec.kind in self.images:
            return self.images[spec.kind]
        raise UnsupportedKind(spec.kind, self.kinds)

    async def start(self, spec: ActionSpec) -> DockerContainer:
        image = self.image_for(spec)
        failure: Exception | None = None
        for _ in range(START_ATTEMPTS):
            port = ports.hold(HOST)
            try:
                container = await self._create(spec, image, port)
            except BaseException:
                ports.release(port)
                raise
            try:
                await container.attach()
                await self.call(container.sdk.start)
                await container.wait_ready(READY_TIMEOUT_S, container.is_alive)
                return container
            except (BackendUnavailable, ContainerStartError) as exc:
                failure = exc
                await container.destroy()
            except BaseException:
                await container.destroy()
                raise
        raise ContainerStartError(f"{image} did not start: {failure}")

    def settings(self, spec: ActionSpec, exchange: Exchange) -> dict[str, Any]:
        """What ``containers.create`` is told besides the image and the port: the limits of
        ``spec``, :data:`HARDENING`, the scratch tmpfs and the exchange mounts, then
        ``run_options`` over them."""
        memory = f"{spec.memory_mb}m"
        volumes = {str(exchange.inbox): {"bind": str(exchange.inbox), "mode": "ro"},
                   str(exchange.outbox): {"bind": str(exchange.outbox), "mode": "rw"}}
        return {**HARDENING, "environment": {"HOME": SCRATCH, "TMPDIR": SCRATCH, **spec.env,
                                             **self.env},
                "labels": self.labels, "mem_limit": memory, "memswap_limit": memory,
                "cpu_shares": max(2, spec.memory_mb * 4),
                "tmpfs": {SCRATCH: f"rw,size={spec.memory_mb}m,mode=1777"},
                "volumes": volumes, **self.run_options}

    async def _create(self, spec: ActionSpec, image: str, port: int) -> DockerContainer:
        folder = workdirs.make(workdirs.CONTAINER, self.workroot)
        exchange = Exchange(folder)
        create = functools.partial(
            self.client.containers.create, image, detach=True,
            ports={PROXY_PORT: (HOST, port)}, **self.settings(spec, exchange))
        try:
            sdk = await self.call(create)
        except docker.errors.NotFound as exc:
            shutil.rmtree(folder, ignore_errors=True)
            if spec.kind == BLACKBOX:
                raise ImageUnavailable(image) from exc
            raise ContainerStartError(f"no image {image}: {exc}") from exc
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return DockerContainer(self, sdk, spec.kind, port, spec.concurrency, exchange, folder)

    async def leftovers(self) -> list[str]:
        """Ids of containers with this backend's labels that still exist (running or not)."""
        filters = {"label": [f"{k}={v}" for k, v in self.labels.items()]}
        found = await self.call(functools.partial(self.client.containers.list, all=True,
                                                  filters=filters))
        return [c.id for c in found]
