"""The pieces of an end-to-end run: the controller, its REST API, edge agents — as processes.

Why real processes inside the namespaces: the claim under test is about the network (an agent
behind a NAT that drops inbound connections reaches the controller, and only through the tunnel
it dialled), so the controller and each ``edgewhisk invoker`` run as ``ip netns exec`` children
with the exact command lines a user types (started by :mod:`edgewhisk_devkit`, wrapped in the
namespace's ``ip netns exec``), and are stopped by pid when the namespace closes. The REST
client (:class:`edgewhisk_client.Client`) runs on the cloud namespace's thread (its sockets live
there), as a ``wsk`` on the controller's host would.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from edgewhisk_cli.action import python_action
from edgewhisk_client import Client
from edgewhisk_devkit import Agent, Controller

from e2e.netns import Listener, Namespace, tcp_connects

T = TypeVar("T")
RECORD_TIMEOUT_S = 120.0
CALL_TIMEOUT_S = 90.0


def start_controller(namespace: Namespace, data: Path, *extra: str) -> Controller:
    """``edgewhisk controller --host <ns address> --port 0 --data DATA --guest [--insecure]
    EXTRA...`` inside ``namespace``; returns once it printed ``APIHOST=``/``AUTH=`` (its
    stderr goes to ``DATA.log``); stopped by pid when the namespace closes. Off loopback the
    guest key must be asked for, and plain HTTP too (``--insecure``, unless EXTRA has TLS):
    the namespaces are private to the test."""
    safety = ("--guest", *(() if "--tls-cert" in extra else ("--insecure",)))
    controller = Controller(data, *safety, *extra, host=namespace.address, wrap=namespace.prefix,
                            own_group=True, log=data.parent / f"{data.name}.log")
    namespace.adopt(controller.stop)
    return controller.start()


class Api:
    """The REST calls of the tests, made from inside ``namespace`` (``ca_file``: the CA)."""

    def __init__(self, namespace: Namespace, api_host: str, auth: str,
                 ca_file: str | None = None) -> None:
        self.namespace = namespace
        self.client = Client(api_host, auth, ca_file=ca_file, timeout_s=CALL_TIMEOUT_S)

    def close(self) -> None:
        self.namespace.call(self.client.close)

    def token(self, invoker_id: str) -> str:
        return str(self.namespace.call(self.client.tokens.create, invoker_id)["token"])

    def deploy(self, name: str, source: Path, *, annotations: Sequence[dict[str, Any]] = ()
               ) -> dict[str, Any]:
        document = python_action(name, source)
        document["annotations"].extend(annotations)
        return self.namespace.call(self.client.actions.put, name, document)

    def invoke(self, name: str, params: dict[str, Any], *, blocking: bool = True
               ) -> tuple[int, dict[str, Any]]:
        """(HTTP status, body) of the invoke, whatever it was (the tests look at both)."""
        response = self.namespace.call(
            self.client.request, "POST", f"actions/{name}?blocking={str(blocking).lower()}",
            json=params)
        return response.status_code, dict(response.json())

    def record(self, activation_id: str) -> dict[str, Any] | None:
        response = self.namespace.call(self.client.request, "GET",
                                       f"activations/{activation_id}")
        return dict(response.json()) if response.status_code == 200 else None

    def wait_record(self, activation_id: str, timeout_s: float = RECORD_TIMEOUT_S
                    ) -> dict[str, Any]:
        record = poll(lambda: self.record(activation_id), timeout_s)
        assert record is not None, f"activation {activation_id} was never recorded"
        return record


def poll(fn: Callable[[], T | None], timeout_s: float, every_s: float = 0.2) -> T | None:
    """``fn()`` until it returns something truthy or ``timeout_s`` passed (bounded)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every_s)


def annotation(record: dict[str, Any], key: str) -> Any:
    return next((a["value"] for a in record.get("annotations", []) if a.get("key") == key), None)


def start_agent(namespace: Namespace, controller_url: str, token: str, invoker_id: str,
                workdir: Path, *options: str) -> Agent:
    """``edgewhisk invoker --controller URL --id ID OPTIONS...`` with ``token`` inside
    ``namespace`` (cwd: ``workdir``; stdout and stderr to ``workdir/agent.log``); stopped by
    pid when the namespace closes."""
    workdir.mkdir(parents=True, exist_ok=True)
    agent = Agent(controller_url, token, *options, id=invoker_id, log=workdir / "agent.log",
                  cwd=workdir, wrap=namespace.prefix, own_group=True)
    namespace.adopt(agent.stop)
    return agent.start()


class InboundProbe:
    """Keeps trying to open TCP connections from the cloud to every edge during a test.

    Each edge namespace gets a listener (the port a device would expose); a daemon thread dials
    each edge's address on it from the cloud namespace every ``every_s`` (at most ``limit``
    rounds). ``successes`` must stay 0; ``attempts`` shows the probe really ran.
    """

    def __init__(self, cloud: Namespace, edges: Sequence[Namespace], every_s: float = 0.5,
                 limit: int = 2000) -> None:
        self.cloud = cloud
        self.listeners = [(edge, Listener(edge)) for edge in edges]
        self.every_s, self.limit = every_s, limit
        self.attempts = 0
        self.successes: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        for _ in range(self.limit):
            for edge, listener in self.listeners:
                self.attempts += 1
                if tcp_connects(self.cloud, edge.address, listener.port, 0.3):
                    self.successes.append(f"{edge.address}:{listener.port}")
            if self._stop.wait(self.every_s):
                return

    @contextmanager
    def running(self) -> Iterator[InboundProbe]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join(30)
            for _, listener in self.listeners:
                listener.close()

    def accepted(self) -> list[str]:
        return [peer for _, listener in self.listeners for peer in listener.peers]


EFFECT_ACTION = '''import os
import socket
import time

from edgewhisk import policy


{decorators}
def main(args):
    """Append "<activation id> <this host's address>" to the sink, then sleep: the side effect
    that proves where, and how many times, an activation ran."""
    activation = os.environ["__OW_ACTIVATION_ID"]
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.connect((args["cloud"], 9))  # UDP: picks the route's source address, sends nothing
    address = probe.getsockname()[0]
    probe.close()
    with open(args["sink"], "a") as sink:
        sink.write(f"{{activation}} {{address}}\\n")
    time.sleep(float(args.get("sleep", 0)))
    return {{"activation": activation, "address": address}}
'''


@dataclass
class EdgeCluster:
    """The controller in the cloud namespace, an agent per edge namespace, the effect actions."""

    topology: Any
    controller: Controller
    api: Api
    agents: dict[str, Agent]
    sink: Path
    probe: InboundProbe

    def params(self, **more: Any) -> dict[str, Any]:
        return {"sink": str(self.sink), "cloud": self.topology.cloud.address, **more}

    def effects(self) -> collections.Counter[tuple[str, str]]:
        """(invoker, activation id) -> how many times that invoker's namespace ran it."""
        by_address = {edge.address: f"edge{n}" for n, edge in
                      enumerate(self.topology.edges, start=1)}
        lines = self.sink.read_text().splitlines() if self.sink.exists() else []
        return collections.Counter((by_address.get(address, address), activation)
                                   for activation, address in (line.split() for line in lines))

    def runs(self, activation: str) -> int:
        return sum(n for (_, a), n in self.effects().items() if a == activation)

    def logs(self) -> str:
        parts = [f"--- controller ---\n{self.controller.log()[-3000:]}"]
        parts += [f"--- {a.id} ---\n{a.log()[-3000:]}" for a in self.agents.values()]
        return "\n".join(parts)


@contextmanager
def edge_cluster(root: Path, certificates: Any, actions: dict[str, str], *,
                 heartbeat_timeout_s: float, idempotent: Sequence[str] = (),
                 shared_network: str = "shared") -> Iterator[EdgeCluster]:
    """Build the topology, start the controller (TLS) and ``edgeN`` agents (owner ``uN``,
    networks ``uN_home`` and ``shared_network``), deploy ``actions`` (name -> decorator lines
    of :data:`EFFECT_ACTION`; those in ``idempotent`` annotated so), probe inbound all along.
    Everything is stopped and removed at the end."""
    from e2e import netns

    topology = netns.build(edges=2)
    probe = InboundProbe(topology.cloud, topology.edges)
    try:
        with probe.running():
            controller = start_controller(
                topology.cloud, root / "controller",
                "--tls-cert", str(certificates.cert), "--tls-key", str(certificates.key),
                "--heartbeat-timeout", str(heartbeat_timeout_s))
            api = Api(topology.cloud, controller.api_host, controller.auth,
                      str(certificates.ca))
            url = f"wss://{topology.cloud.address}:{controller.api_host.rsplit(':', 1)[1]}"
            agents = {}
            for n, edge in enumerate(topology.edges, start=1):
                invoker, user = f"edge{n}", f"u{n}"
                agents[invoker] = start_agent(
                    edge, url, api.token(invoker), invoker, root / invoker,
                    "--owner", user, "--network", f"{user}_home", "--network", shared_network,
                    "--ca-file", str(certificates.ca), "--backend", "process",
                    "--backoff-cap", "1", "--no-battery",
                    "--no-sandbox")  # actions count their runs in a file the test reads
            for name, decorators in actions.items():
                source = root / f"{name.replace('-', '_')}.py"
                source.write_text(EFFECT_ACTION.format(decorators=decorators))
                marks = [{"key": "idempotent", "value": True}] if name in idempotent else []
                api.deploy(name, source, annotations=marks)
            try:
                yield EdgeCluster(topology, controller, api, agents, root / "effects.log", probe)
            finally:
                api.close()
    finally:
        topology.close()


def wait_until_placed(cluster: EdgeCluster, action_for: dict[str, str],
                      timeout_s: float = 60.0) -> None:
    """Until an activation of ``action_for[invoker]`` runs on each invoker (both registered)."""
    last: dict[str, Any] = {}
    for invoker, action in action_for.items():
        def ran(invoker: str = invoker, action: str = action) -> bool:
            status, last[invoker] = cluster.api.invoke(action, cluster.params())
            return status == 200 and annotation(last[invoker], "invoker") == invoker
        assert poll(ran, timeout_s, 0.5), (last, cluster.logs())
