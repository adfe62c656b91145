"""What the pool asks of a container backend, and the values that cross the pool's boundary.

Why an abstract pair (backend, container) and nothing more: the cloud's local invokers and the
edge invoker agent run the same :class:`~.pool.ContainerPool` over different backends (a child
process, a Docker/podman container), so a backend only has to start something that speaks the
action-runtime contract (POST /init, POST /run) on a local port and whose stdout/stderr reach a
:class:`~.logs.LogCollector`. Warm reuse, memory slots, deadlines and log cutting live in the
pool, once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from edgewhisk_runtime.artifacts.values import GateVerdict, ProducedArtifact
from edgewhisk_runtime.containers.logs import LogCollector

# Kinds, as OpenWhisk names them in ``exec.kind``.
PYTHON = "python:3"
NODEJS = "nodejs:default"
BLACKBOX = "blackbox"


@dataclass(frozen=True)
class ActionSpec:
    """Everything needed to start, initialise and limit a container for one action version.

    Its twin on the wire is ``edgewhisk_tunnel.RunSpec`` (the same fields by design;
    ``tests/tunnel/test_parity.py`` checks them)."""

    key: str               # "ns/name@version" + code digest: containers are reused only per key
    kind: str              # "python:3" | "blackbox" | "nodejs:default"
    code: str | None       # source, or base64 zip when binary
    binary: bool
    main: str              # entry point
    image: str | None      # blackbox image; None -> the kind's default image
    env: Mapping[str, str] # init env (e.g. __OW_API_HOST); also the container's environment
    memory_mb: int         # OpenWhisk limit: the slot size in the pool
    timeout_ms: int
    concurrency: int       # max in-flight activations per container
    logs_mb: int = 10      # OpenWhisk logs limit (MB of 1024 * 1024 bytes); 0 = no logs

    @property
    def namespace(self) -> str:
        """The namespace the action belongs to: the first segment of ``key``."""
        return self.key.split("/", 1)[0]

    def init_payload(self) -> dict[str, Any]:
        """The /init body's ``value``: what upstream's invoker sends."""
        value: dict[str, Any] = {"name": self.key.split("@")[0], "main": self.main,
                                 "binary": self.binary, "code": self.code, "env": dict(self.env)}
        if self.code is None:
            value.pop("code")
        return value


@dataclass
class RunOutcome:
    """What one activation produced; expected failures are values, not exceptions.

    Its twin on the wire is ``edgewhisk_tunnel.Outcome`` (the same fields by design;
    ``tests/tunnel/test_parity.py`` checks them)."""

    status: int            # HTTP status of /run (or of /init when init failed)
    response: Any          # JSON body of /run (or the /init error body)
    logs: list[str]        # OpenWhisk-formatted lines "2026-11-27T09:00:00.123456Z stdout: text"
    init_failed: bool
    init_ms: int | None    # /init time on a cold start; None on a warm start
    duration_ms: int       # /run time
    container_id: str      # "" when no container could be started (a missing blackbox image)
    start_ms: int | None = None  # time to start the container (cold start only)
    timed_out: bool = False      # the action exceeded its time limit (container destroyed)
    produced: tuple[ProducedArtifact, ...] = ()  # artifacts the invoker kept after the run
    gates: tuple[GateVerdict, ...] = ()  # the runtime's gate verdicts (X-Edgewhisk-Gates)


class RunReply(NamedTuple):
    """A /run answer: status, the parsed body (or its text) and the gate verdicts the proxy
    returned beside it (its ``X-Edgewhisk-Gates`` header; none from a proxy without gates)."""

    status: int
    body: Any
    gates: tuple[GateVerdict, ...] = ()


class Container(ABC):
    """One running action proxy. ``init``/``run`` return (status, parsed JSON body or text).

    They raise :class:`~.exceptions.ContainerUnreachable` when the proxy is gone and
    :class:`~.exceptions.ContainerTimeout` when it does not answer within ``timeout`` seconds.
    """

    id: str
    kind: str
    logs: LogCollector     # its stdout/stderr, cut at the sentinels

    @abstractmethod
    async def init(self, payload: Mapping[str, Any],
                   timeout: float | None = None) -> tuple[int, Any]:
        """POST /init ``{"value": payload}``."""

    @abstractmethod
    async def run(self, payload: Mapping[str, Any],
                  timeout: float | None = None) -> RunReply:
        """POST /run ``payload`` (``{"value": ..., "activation_id": ..., ...}``)."""

    @property
    @abstractmethod
    def alive(self) -> bool:
        """False once the process/container is known to be gone."""

    async def failure_reason(self) -> str | None:
        """After a failed /run: a reason the backend knows better than the proxy (upstream's
        memory-exhausted message when the memory limit killed the action), else None."""
        return None

    @abstractmethod
    async def destroy(self) -> None:
        """Stop and remove it with everything it started; idempotent; ends the log streams."""


class ContainerBackend(ABC):
    """Starts containers of the kinds it names; ``start`` returns once the proxy answers HTTP."""

    kinds: frozenset[str]

    @abstractmethod
    async def start(self, spec: ActionSpec) -> Container:
        """A fresh, uninitialised container for ``spec`` (raises UnsupportedKind,
        ContainerStartError, BackendUnavailable)."""

    async def close(self) -> None:
        """Release what the backend itself holds (not its containers: the pool destroys those)."""
        return None
