"""The demo's edge invokers: one ``edgewhisk invoker`` per node, dialling the tunnel on loopback.

What it shows: the fleet the paper's personal assistant runs on — a cloud node (role ``cloud``,
no owner) and one device per user (``--owner u1 --network u1_home``) — each an agent process
that dialled the controller's tunnel (``ws://127.0.0.1``: plain WebSocket is allowed on
loopback only) with a device token created through the API, exactly as a real device would
behind its NAT. The controller runs no local invoker (``--invokers 0``), so every activation
crosses a tunnel and its record's ``invoker`` annotation names the node that ran it.

Why every node has its own store: artifacts live where the locality rules say. Each agent
keeps a node store of its own (``--store WORKDIR/stores/<id>`` within ``--store-cap``): a
device's readings are born there and never leave it, a model it fetched through the tunnel is
cached there, and what it produces stays there unless it is ``cloud`` (then it also goes up the
tunnel into the controller's blob store). The cloud node is ``cloud-node``, not ``cloud``:
``cloud`` is the blob store's name in an artifact's ``copies``.

Agents are child processes in their own process groups, stopped by pid (SIGTERM: they finish
what runs and close their containers; SIGKILL to the group if one hangs).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .controller import ControllerClient, DemoError, children

REGISTER_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0
CLOUD = "cloud-node"
CLOUD_STORE_CAP = "2GB"
DEVICE_STORE_CAP = "512MB"  # a phone's budget for models and data sets


@dataclass
class Node:
    """One agent: its invoker id, the options that describe it, and once started its pid."""

    id: str
    options: list[str]
    summary: str
    log: Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    pid: int = 0
    containers: list[int] = field(default_factory=list)  # noted at the stop, for the report
    store: Path | None = None  # its node store (``--store``), set when the fleet starts it


def nodes_for(users: list[str]) -> list[Node]:
    """The cloud node first (ties in placement go to the earliest registered), then a device
    per user."""
    nodes = [Node(CLOUD, ["--role", "cloud", "--memory", "2048", "--site", "cloud",
                          "--store-cap", CLOUD_STORE_CAP],
                  f"role cloud, no owner, 2048 MB, store {CLOUD_STORE_CAP}")]
    for usr in users:
        nodes.append(Node(
            f"{usr}-phone",
            ["--owner", usr, "--network", f"{usr}_home", "--site", f"{usr}_home",
             "--memory", "1024", "--no-battery", "--store-cap", DEVICE_STORE_CAP],
            f"owner {usr} ({usr}_device), network {usr}_home, store {DEVICE_STORE_CAP}"))
    return nodes


class EdgeFleet:
    """Start the nodes' agents against ``api_host``'s tunnel, each with its node store under
    ``stores/<id>``; stop them all (a context manager). Logs go to ``logs/invoker-<id>.log``."""

    def __init__(self, client: ControllerClient, api_host: str, nodes: list[Node],
                 stores: Path, logs: Path) -> None:
        self.client = client
        self.tunnel = api_host.replace("http://", "ws://", 1)
        self.nodes = nodes
        self.stores = stores
        self.logs = logs

    def __enter__(self) -> EdgeFleet:
        try:  # the cloud node registers first: placement ties go to the earliest registered
            first, *others = self.nodes
            self._start(first)
            self._wait_registered(first)
            for node in others:
                self._start(node)
            for node in others:
                self._wait_registered(node)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _start(self, node: Node) -> None:
        token = self.client.create_token(node.id)
        node.log = self.logs / f"invoker-{node.id}.log"
        node.store = self.stores / node.id
        command = [sys.executable, "-m", "edgewhisk_cli.main", "invoker",
                   "--controller", self.tunnel, "--id", node.id, "--backend", "process",
                   "--store", str(node.store), *node.options]
        env = {**os.environ, "EDGEWHISK_INVOKER_TOKEN": token}
        with open(node.log, "ab") as log:
            node.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=log, env=env, start_new_session=True)
        node.pid = node.process.pid

    def _wait_registered(self, node: Node) -> None:
        """Until its log says it registered (bounded); DemoError with the log otherwise."""
        assert node.process is not None and node.log is not None
        deadline = time.monotonic() + REGISTER_TIMEOUT_S
        while time.monotonic() < deadline:
            if "registered as" in node.log.read_text(errors="replace"):
                return
            if node.process.poll() is not None:
                break
            time.sleep(0.1)
        raise DemoError(f"invoker {node.id}: did not register with the controller",
                        node.log.read_text(errors="replace"))

    def stop(self) -> None:
        """SIGTERM every agent, wait, SIGKILL a group that hangs. Idempotent."""
        running = [n for n in self.nodes if n.process is not None]
        for node in running:
            assert node.process is not None
            if node.process.poll() is None:
                node.containers = children(node.pid)  # each proxy leads its own group
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(node.pid, signal.SIGTERM)
        for node in running:
            process, node.process = node.process, None
            assert process is not None
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:  # hung: its group and its containers' groups
                for group in (node.pid, *node.containers):
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(group, signal.SIGKILL)
                process.wait(STOP_TIMEOUT_S)
