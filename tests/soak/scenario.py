"""The soak: a mixed load under faults, then the invariants of acknowledged work, as a table.

The load: ``clients`` threads invoke the actions of ``platform.action_kinds`` at random,
blocking (waiting at most 5 s, so that some answers are 202s) or not, each run sleeping up to
1.5 s. The faults, one at a time every few seconds, at random: the controller SIGKILLed and
started again on the same data; an agent SIGKILLed (its action processes with it) and started
again; in network namespaces also an edge's uplink set down and up again (``ip link``) and
random loss on it (an nftables ``numgen random mod 100 < N drop`` rule). This kernel has no
``sch_netem``, so there is no delay or netem loss. After ``seconds`` the faults stop, links
come back, and every acknowledged activation (a 202 with its id, or a 200 with its record) is
waited for.

The invariants (``Report.table``): every acknowledged activation has a record (a 200 answer's
is the record it answered); a non-idempotent activation ran at most once; an idempotent one
ran at least once; no request hung past its timeout, and no record came later than the drain.
"""

from __future__ import annotations

import collections
import contextlib
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from e2e.netns import Namespace, Topology
from edgewhisk_client import ClientError

from soak.platform import CALL_TIMEOUT_S, ActionKind, Platform, action_kinds

BLOCKING_WAIT_MS = 5000
SLEEP_MAX_S = 1.5
DRAIN_S = 150.0
"""Time for every acknowledged activation to be recorded once the faults stop: the longest
run, an agent's reconnect, and the controller's reclaim window (heartbeat timeout + 30 s)."""
LOSS_PERCENT = 30
LOSS_TABLE = "edgewhisk_soak_loss"
PAGE = 200  # records per listing request (the API's largest page)


@dataclass
class Ack:
    """An acknowledged activation."""

    id: str
    kind: ActionKind
    blocking: bool
    status: int
    answered: dict[str, Any] | None  # the record a 200 answered


@dataclass
class Report:
    seconds: float
    requests: int = 0
    refused: int = 0  # no answer, or a 5xx: nothing acknowledged
    acks: list[Ack] = field(default_factory=list)
    hung: list[str] = field(default_factory=list)
    events: collections.Counter[str] = field(default_factory=collections.Counter)
    statuses: collections.Counter[str] = field(default_factory=collections.Counter)
    violations: dict[str, list[str]] = field(default_factory=dict)

    def table(self) -> str:
        checked = {"every acknowledged activation has a record": len(self.acks),
                   "non-idempotent ones ran at most once":
                       sum(not a.kind.idempotent for a in self.acks),
                   "idempotent ones ran at least once": sum(a.kind.idempotent for a in self.acks),
                   "nothing hung past its timeout": self.requests}
        lines = [f"{'invariant':<46} {'checked':>8} {'held':>8} {'violated':>8}", "-" * 73]
        for name, count in checked.items():
            bad = len(self.violations.get(name, []))
            lines.append(f"{name:<46} {count:>8} {count - bad:>8} {bad:>8}")
        acks = collections.Counter(
            f"{'blocking' if a.blocking else 'non-blocking'} {a.status}" for a in self.acks)
        by_answer = ", ".join(f"{k}: {v}" for k, v in sorted(acks.items()))
        lines += ["", f"{self.seconds:.0f} s of load: {self.requests} requests, "
                  f"{len(self.acks)} acknowledged ({by_answer}), "
                  f"{self.refused} not acknowledged (controller down or refusing)",
                  "faults: " + (", ".join(f"{k} {v}" for k, v in sorted(self.events.items()))
                                or "none"),
                  "records: " + ", ".join(f"{k} {v}" for k, v in sorted(self.statuses.items()))]
        return "\n".join(lines)

    @property
    def held(self) -> bool:
        return not any(self.violations.values())


def run(platform: Platform, seconds: float, *, clients: int = 6,
        topology: Topology | None = None, seed: int | None = None,
        faults_every_s: tuple[float, float] = (3.0, 6.0)) -> Report:
    """Load ``platform`` for ``seconds`` under faults, drain, check; the report."""
    rng = random.Random(seed)
    kinds = action_kinds(list(platform.edges))
    report = Report(seconds)
    stop = threading.Event()
    lock = threading.Lock()
    pool = platform.cloud.threads(clients)
    try:
        workers = [pool.submit(_client, platform, kinds, report, lock, stop,
                               random.Random(rng.random())) for _ in range(clients)]
        _faults(platform, topology, report, stop, rng, seconds, faults_every_s)
        stop.set()
        for worker in workers:
            worker.result()
        if topology is not None:
            _heal(topology)
        if platform.controller is not None and platform.controller.child.poll() is not None:
            platform.start_controller()
        _check(platform, report, pool)
    finally:
        stop.set()
        pool.shutdown(wait=True)
    return report


def _client(platform: Platform, kinds: list[ActionKind], report: Report, lock: threading.Lock,
            stop: threading.Event, rng: random.Random) -> None:
    """One client: invoke until ``stop``, remembering what was acknowledged."""
    with platform.client() as api:
        while not stop.is_set():
            kind, blocking = rng.choice(kinds), rng.random() < 0.5
            params = {"sink": str(platform.sink), "sleep": round(rng.uniform(0, SLEEP_MAX_S), 2)}
            path = f"actions/{kind.name}?blocking={str(blocking).lower()}"
            if blocking:
                path += f"&timeout={BLOCKING_WAIT_MS}"
            started = time.monotonic()
            try:
                response = api.request("POST", path, json=params)
            except ClientError:
                response = None
            took = time.monotonic() - started
            with lock:
                report.requests += 1
                if took > BLOCKING_WAIT_MS / 1000 + CALL_TIMEOUT_S / 3:
                    report.hung.append(f"{path}: {took:.1f} s")
                body = response.json() if response is not None and response.content else {}
                activation_id = body.get("activationId") if isinstance(body, dict) else None
                if response is None or not activation_id:
                    report.refused += 1  # down, shutting down (503), or refused: no id
                    time.sleep(0.2)  # do not spin while the controller is down
                    continue
                answered = body if response.status_code in (200, 502) or \
                    (response.status_code == 500 and "response" in body) else None
                report.acks.append(Ack(activation_id, kind, blocking, response.status_code,
                                       answered))


def _faults(platform: Platform, topology: Topology | None, report: Report,
            stop: threading.Event, rng: random.Random, seconds: float,
            every_s: tuple[float, float]) -> None:
    """One fault at a time until ``seconds`` passed."""
    faults: list[tuple[str, Callable[[], None]]] = [
        ("controller SIGKILL+restart", lambda: _restart_controller(platform, rng))]
    for edge in platform.edges:
        faults.append((f"agent {edge} SIGKILL+restart",
                       lambda edge=edge: _restart_agent(platform, edge, rng)))
        if topology is not None:
            iface = topology.edge_interface(platform.edges[edge])
            faults.append((f"{edge} uplink down/up",
                           lambda iface=iface: _link_cut(topology, iface, rng)))
            faults.append((f"{edge} {LOSS_PERCENT}% loss",
                           lambda iface=iface: _loss(topology, iface, rng)))
    end = time.monotonic() + seconds
    while not stop.wait(rng.uniform(*every_s)) and time.monotonic() < end:
        name, fault = rng.choice(faults)
        report.events[name] += 1
        fault()


def _restart_controller(platform: Platform, rng: random.Random) -> None:
    platform.kill_controller()
    time.sleep(rng.uniform(0, 1.5))
    platform.start_controller()


def _restart_agent(platform: Platform, edge: str, rng: random.Random) -> None:
    platform.kill_agent(edge)
    time.sleep(rng.uniform(0, 1.0))
    platform.start_agent(edge)


def _link_cut(topology: Topology, iface: str, rng: random.Random) -> None:
    """The edge's uplink (the router's ``iface``) down for 1 to 6 s: past the heartbeat timeout
    now and then, so that the controller gives the device up."""
    topology.router.exec("ip", "link", "set", iface, "down")
    try:
        time.sleep(rng.uniform(1.0, 6.0))
    finally:
        topology.router.exec("ip", "link", "set", iface, "up")


def _loss(topology: Topology, iface: str, rng: random.Random) -> None:
    """Random loss on the edge's uplink for 2 to 5 s (nftables; no netem on this kernel)."""
    rule = f"numgen random mod 100 < {LOSS_PERCENT} drop"
    topology.router.exec("nft", f"add table inet {LOSS_TABLE}; add chain inet {LOSS_TABLE} "
                         f"forward {{ type filter hook forward priority -10; }}; "
                         f'add rule inet {LOSS_TABLE} forward iifname "{iface}" {rule}; '
                         f'add rule inet {LOSS_TABLE} forward oifname "{iface}" {rule}')
    try:
        time.sleep(rng.uniform(2.0, 5.0))
    finally:
        topology.router.exec("nft", f"delete table inet {LOSS_TABLE}")


def _heal(topology: Topology) -> None:
    for edge in topology.edges:
        topology.router.exec("ip", "link", "set", topology.edge_interface(edge), "up")
    with contextlib.suppress(Exception):
        topology.router.exec("nft", f"delete table inet {LOSS_TABLE}")


def _check(platform: Platform, report: Report, pool: Any) -> None:
    """Read every record (pages of the listing, then each one still missing, until the drain
    ends), then check the invariants."""
    records = pool.submit(_listed, platform).result()
    missing = [ack for ack in report.acks if ack.id not in records]
    deadline = time.monotonic() + DRAIN_S
    clients: list[Any] = []
    local = threading.local()

    def fetch(ack: Ack) -> None:
        if not hasattr(local, "api"):
            local.api = platform.client()
            clients.append(local.api)
        while time.monotonic() < deadline:
            try:
                response = local.api.request("GET", f"activations/{ack.id}")
            except ClientError:
                response = None
            if response is not None and response.status_code == 200:
                records[ack.id] = response.json()
                return
            time.sleep(0.5)

    try:
        for done in [pool.submit(fetch, ack) for ack in missing]:
            done.result()
    finally:
        for api in clients:
            pool.submit(api.close).result()
    effects = platform.effects()
    violations: dict[str, list[str]] = collections.defaultdict(list)
    for ack in report.acks:
        record = records.get(ack.id)
        runs = effects[ack.id]
        if record is None:
            violations["every acknowledged activation has a record"].append(
                f"{ack.id} ({ack.kind.name}, answered {ack.status}): no record")
            continue
        report.statuses[_status(record)] += 1
        if ack.answered is not None and ack.answered.get("response") != record.get("response"):
            violations["every acknowledged activation has a record"].append(
                f"{ack.id}: answered {ack.answered.get('response')}, recorded "
                f"{record.get('response')}")
        if not ack.kind.idempotent and runs > 1:
            violations["non-idempotent ones ran at most once"].append(
                f"{ack.id} ({ack.kind.name}) ran {runs} times")
        if ack.kind.idempotent and runs < 1:
            violations["idempotent ones ran at least once"].append(
                f"{ack.id} ({ack.kind.name}) never ran: {_status(record)}")
    violations["nothing hung past its timeout"] += report.hung
    report.violations = dict(violations)


def _listed(platform: Platform) -> dict[str, dict[str, Any]]:
    """Every record the controller lists, by activation id (newest first, pages of 200)."""
    found: dict[str, dict[str, Any]] = {}
    with platform.client() as api:
        for skip in range(0, 10**9, PAGE):
            page = api.activations.list(limit=PAGE, skip=skip, docs="true")
            found.update((record["activationId"], record) for record in page)
            if len(page) < PAGE:
                return found
    return found


def _status(record: dict[str, Any]) -> str:
    response = record.get("response", {})
    if response.get("success"):
        return "success"
    error = str((response.get("result") or {}).get("error", ""))
    return f"{response.get('status')}: {error[:70]}"


def topology_edges(topology: Topology) -> dict[str, Namespace]:
    """``edgeN`` -> its namespace."""
    return {f"edge{n}": edge for n, edge in enumerate(topology.edges, start=1)}
