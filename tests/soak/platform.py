"""The platform a soak (and each crash test) runs against: a controller and edge agents as real
processes, on loopback or in network namespaces, that can be killed and started again.

Why fixed ports and the same data: a controller SIGKILLed and restarted must be the same
controller to its agents (they dial one URL) and to its clients (one API host), with the same
store; that is what a crash is. Every process leads its own group, so a SIGKILL takes its
action processes with it, as a power cut would. The side effects are counted in one file: each
run of an action appends its activation id to ``sink`` before it sleeps, so the file says how
often each activation ran, wherever it ran (the namespaces share the file system).
"""

from __future__ import annotations

import collections
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from signal import SIGKILL
from typing import Any

from e2e.netns import Host, Namespace
from edgewhisk_client import Client
from edgewhisk_devkit import UNLIMITED, Agent, Controller
from edgewhisk_devkit.agent import tunnel_url
from edgewhisk_runtime.local import free_port

EFFECT = '''import os
import time


def main(args):
    """Append this activation's id to the sink (the run's side effect), then sleep."""
    with open(args["sink"], "a") as sink:
        sink.write(os.environ["__OW_ACTIVATION_ID"] + "\\n")
    time.sleep(float(args.get("sleep", 0)))
    return {"ok": True}
'''
HEARTBEAT_TIMEOUT_S = 4.0
CALL_TIMEOUT_S = 90.0
PORT = 3233
"""The controller's port in a namespace of its own; on loopback a free one, kept across
restarts (other test runs on the machine may hold 3233)."""


@dataclass(frozen=True)
class ActionKind:
    """One action of the load: ``node`` pins it (``strict``) or prefers it (soft)."""

    name: str
    idempotent: bool
    node: str
    strict: bool

    def document(self) -> dict[str, Any]:
        policy = {"type": "fn", "node": self.node, "strict": self.strict}
        annotations = [{"key": "edgewhisk", "value": {"version": 1, "policies": [policy]}}]
        if self.idempotent:
            annotations.append({"key": "idempotent", "value": True})
        return {"exec": {"kind": "python:3", "code": EFFECT}, "annotations": annotations,
                "limits": {"timeout": 30_000, "memory": 128}}


def action_kinds(edges: Sequence[str]) -> list[ActionKind]:
    """Per invoker (the controller's ``local0`` and each edge): a non-idempotent action pinned
    to it and an idempotent one that prefers it (re-dispatched elsewhere when it is lost)."""
    kinds = [ActionKind("once-local0", False, "local0", True),
             ActionKind("retry-local0", True, "local0", True)]
    for edge in edges:
        kinds += [ActionKind(f"once-{edge}", False, edge, True),
                  ActionKind(f"retry-{edge}", True, edge, False)]
    return kinds


@dataclass
class Platform:
    """A controller in ``cloud`` and an agent per namespace of ``edges`` (loopback: ``Host``)."""

    root: Path
    cloud: Namespace
    edges: dict[str, Namespace]
    tls: Any = None  # e2e.tls.Certificates: required off loopback
    controller: Controller | None = None
    agents: dict[str, Agent] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    port: int = 0

    def __post_init__(self) -> None:
        if not self.port:
            self.port = free_port() if isinstance(self.cloud, Host) else PORT

    @property
    def sink(self) -> Path:
        return self.root / "effects.log"

    @property
    def api_host(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.cloud.address}:{self.port}"

    def start(self, kinds: Sequence[ActionKind]) -> Platform:
        self.start_controller()
        self.cloud.call(self._deploy, kinds)  # the API is reached from inside the cloud
        for edge in self.edges:
            self.start_agent(edge)
        return self

    def _deploy(self, kinds: Sequence[ActionKind]) -> None:
        with self.client() as api:
            for kind in kinds:
                api.actions.put(kind.name, kind.document())
            for edge in self.edges:
                self.tokens[edge] = str(api.tokens.create(edge)["token"])

    def client(self) -> Client:
        """A client of the API; off loopback, use it on a thread of ``cloud`` (``call``,
        ``threads``)."""
        assert self.controller is not None
        return Client(self.api_host, self.controller.auth, timeout_s=CALL_TIMEOUT_S,
                      ca_file=str(self.tls.ca) if self.tls else None)

    def start_controller(self) -> None:
        """Start (or start again, on the same data and port) the controller."""
        tls = ("--tls-cert", str(self.tls.cert), "--tls-key", str(self.tls.key)) \
            if self.tls else ()
        if self.controller is None:
            self.controller = Controller(
                # the guest key off loopback too (the namespaces are private to the run);
                # no per-namespace limits: a soak's load is more than one tenant may make
                # actions count their runs in a file the test reads: no sandbox
                self.root / "controller", *tls, "--guest", *UNLIMITED, "--no-sandbox",
                "--heartbeat-timeout", str(HEARTBEAT_TIMEOUT_S),
                port=self.port, host=self.cloud.address, wrap=self.cloud.prefix, own_group=True,
                log=self.root / "controller.log")
            self.cloud.adopt(self.controller.stop)
        self.controller.start()

    def kill_controller(self) -> None:
        assert self.controller is not None
        self.controller.stop(SIGKILL)

    def start_agent(self, edge: str) -> None:
        namespace = self.edges[edge]
        options = ["--backend", "process", "--backoff-cap", "1", "--no-battery", "--no-sandbox",
                   "--store", str(self.root / f"store-{edge}")]  # its node store
        if self.tls:
            options += ["--ca-file", str(self.tls.ca)]
        agent = self.agents.get(edge)
        if agent is None:
            agent = Agent(tunnel_url(self.api_host), self.tokens[edge], *options, id=edge,
                          log=self.root / f"agent-{edge}.log", wrap=namespace.prefix,
                          own_group=True)
            namespace.adopt(agent.stop)
            self.agents[edge] = agent
        agent.start()
        agent.wait_registered()

    def kill_agent(self, edge: str) -> None:
        self.agents[edge].stop(SIGKILL)

    def effects(self) -> collections.Counter[str]:
        """Activation id -> how many runs of it began (the sink's lines)."""
        lines = self.sink.read_text().split() if self.sink.exists() else []
        return collections.Counter(lines)

    def logs(self, tail: int = 4000) -> str:
        parts = [f"--- controller ---\n{self.controller.log()[-tail:]}"] if self.controller \
            else []
        parts += [f"--- {edge} ---\n{agent.log()[-tail:]}" for edge, agent in self.agents.items()]
        return "\n".join(parts)
