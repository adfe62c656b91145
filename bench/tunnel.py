"""Benchmark of the reverse tunnel: many connected invokers, round trip, throughput.

One controller subprocess (``edgewhisk controller``, one local invoker on the process backend),
on loopback:

- **fleet**: ``--invokers`` simulated invokers (in-process WebSocket clients speaking
  ``edgewhisk_tunnel.messages``: register, a heartbeat every second, answers to the
  controller's heartbeats, an immediate ``result`` for every ``run``) connect with a device token
  each (created through the API). The controller's CPU (utime+stime from ``/proc/PID/stat`` over
  ``--window`` seconds, as % of one core) and memory (VmRSS) are read before the fleet connects
  and while it heartbeats.
- **round trip**: the same no-op action, placed by ``policy.fn(node=..., strict=True)``, on the
  controller's local invoker and on a real ``edgewhisk invoker`` agent (process backend) dialling
  the tunnel: blocking invokes through the REST API, warm (after a warm-up), the two sides in
  alternating blocks (``_tunnel_rtt.py``: the same minutes for both), p50/p99, the
  tunnel/local ratios and the controller's and agent's CPU per invoke; once quiet and once
  under a stated load (``--load N`` processes each keeping a core busy). The fleet stays
  connected meanwhile.
- **throughput**: activations per second through ONE simulated invoker's tunnel and spread over
  100 others (owned by user "pool": ``policy.fn(node="pool_device")``) with ``--concurrency``
  blocking invokes in flight. A pool device registers 1 GiB, as a phone would, so four 256 MB
  activations fill it and placement must spread; with a nominal terabyte the nearest tunnel
  (proximity, by measured RTT) would take every run. The simulated invokers answer at once, so
  this is the controller + tunnel cost per activation, not an action's: the controller's CPU
  per activation is printed beside it, and the activations/s one core would give at it.

Prints a table (stdout; ``--json`` prints the numbers as JSON instead), progress on stderr, and
writes bench/out/tunnel.png. Everything it starts is stopped by pid at the end. The bench runs
on uvloop (``edgewhisk_runtime.eventloop``): its simulated fleet shares the machine's cores
with what it measures, so the lighter its own loop, the less it weighs on the numbers.

    python bench/tunnel.py [--invokers 1000] [--calls 200] [--activations 2000] [--load N]\
        [--quick] [--json]
    edgewhisk bench tunnel [...]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

# bench/ is on sys.path (see _report.py)
from _report import cdf, cdf_axes, failed, outputs, pct, progress, report, save
from _rss import rss_mb
from _tunnel_code import V1, V2, ab_rows, padded, protocol_ab
from _tunnel_cpu import HARNESS, saturation, saturation_rows
from _tunnel_rtt import Side, cpu_seconds, hogs, interleaved, ratios
from edgewhisk_cli.action import python_action
from edgewhisk_client import Client
from edgewhisk_devkit import UNLIMITED, Agent, Controller, tunnel_url
from edgewhisk_runtime import eventloop
from edgewhisk_tunnel import messages as m

NAMESPACE = "_"
START_TIMEOUT_S = 60.0
AGENT_ID = "bench-agent"
AGENT_V1 = "bench-agent-v1"  # told --protocol 1: the protocol A/B's other side
SIMS_CODE = {V1: "sim-code-v1", V2: "sim-code-v2"}  # the A/B's simulated invokers
ONE = "sim-00000"
SATURATED = ("noop-local", "noop-tunnel", "echo-one", "echo-pool")
"""The saturation runs: a real proxy locally and behind the real agent, and the simulated
devices (one, and the pool of ``POOL``) that answer at once: the hub's own cost."""
POOL = 100
POOL_OWNER = "pool"
POOL_MEMORY_MB = 1024
UNBOUNDED_MB = 1 << 20
HEARTBEAT_S = 1.0
CONNECT_PARALLEL = 50  # handshakes in flight while the fleet connects
NOOP = '''from edgewhisk import policy


@policy.fn(node="{node}", strict=True)
def main(args):
    return {{"ok": True}}
'''


# --- the controller and the agent: child processes (edgewhisk_devkit) ----------------------------

def start_controller(workdir: Path) -> Controller:
    """``edgewhisk controller`` on a free loopback port, one local invoker; started."""
    return Controller(workdir / "controller", "--invokers", "1", "--log-level", "WARNING",
                      *UNLIMITED,
                      host="127.0.0.1", log=workdir / "controller.log").start()


async def measure_cpu(pid: int, window_s: float) -> tuple[float, float]:
    """(% of one core over ``window_s``, RSS MB at the end)."""
    before, start = cpu_seconds(pid), time.monotonic()
    await asyncio.sleep(window_s)
    used, elapsed = cpu_seconds(pid) - before, time.monotonic() - start
    return 100 * used / elapsed, rss_mb(pid)


# --- the REST API ------------------------------------------------------------------------------

def deploy(client: Client, name: str, node: str, folder: Path,
           source: Callable[[str], str] = str) -> None:
    """The no-op action, placed by ``policy.fn(node=NODE, strict=True)`` (python:3 kind);
    ``source`` makes its code from the no-op's (``_tunnel_code.padded``: a larger one)."""
    path = folder / f"{name}.py"
    path.write_text(source(NOOP.format(node=node)))
    client.actions.put(name, python_action(name, path))


class Invokes:
    """Blocking invokes timed on the bench's event loop (aiohttp, as before this client
    existed, so the numbers stay comparable): the simulated invokers answer on the same loop,
    so a call must not block it. URLs are the REST client's."""

    def __init__(self, session: aiohttp.ClientSession, client: Client) -> None:
        self.session = session
        self.client = client

    async def __call__(self, name: str) -> dict[str, Any]:
        """A blocking invoke; the activation record (raises unless it succeeded)."""
        async with self.session.post(self.client.url(f"actions/{name}?blocking=true"),
                                     json={}) as response:
            record = await response.json()
            if response.status != 200 or not record.get("response", {}).get("success"):
                raise RuntimeError(f"invoke {name}: HTTP {response.status}: {record}")
            return dict(record)


def invoker_of(record: dict[str, Any]) -> str:
    return next((str(a["value"]) for a in record.get("annotations", [])
                 if a.get("key") == "invoker"), "?")


# --- simulated invokers ------------------------------------------------------------------------

OUTCOME = m.Outcome(status=200, response={"ok": True}, logs=(), init_failed=False, init_ms=None,
                    duration_ms=0, container_id="sim")


@dataclass
class FirstWave:
    """Holds the pool's first ``size`` runs until all of them are in flight (at most
    ``timeout_s``). The simulated invokers answer in microseconds, so on a busy machine the
    invokes of a throughput run can reach the controller one at a time: each would find the
    previous one finished and its tunnel warm, and the whole run would land on one tunnel.
    Held together, the first wave is placed while every run of it is in flight, as it would
    be with devices that take time to answer."""

    size: int
    timeout_s: float = 5.0
    arrived: int = 0
    released: asyncio.Event = field(default_factory=asyncio.Event)

    async def arrive(self) -> None:
        self.arrived += 1
        if self.arrived >= self.size:
            self.released.set()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.released.wait(), self.timeout_s)


@dataclass
class SimInvoker:
    """One device as the controller sees it, minus the device: one WebSocket, one reader task."""

    id: str
    token: str
    owner: str | None = None
    memory_mb: int = UNBOUNDED_MB
    protocol: int = m.PROTOCOL_VERSION
    run_bytes: int = 0  # of the run frames received
    ws: aiohttp.ClientWebSocketResponse | None = None
    reader: asyncio.Task[None] | None = None
    seq: int = 0
    runs: int = 0
    lost: bool = False
    rtts_ms: list[float] = field(default_factory=list)
    wave: FirstWave | None = None
    _held: set[asyncio.Task[None]] = field(default_factory=set)

    async def connect(self, session: aiohttp.ClientSession, url: str) -> None:
        self.ws = await session.ws_connect(
            url, headers={"Authorization": f"{m.AUTH_SCHEME} {self.token}"},
            max_msg_size=m.MAX_FRAME_BYTES, autoping=True)
        await self.ws.send_str(m.encode(m.Register(
            id=self.id, memory_mb=self.memory_mb, kinds=("python:3", "blackbox"),
            agent_version="bench", owner=self.owner, protocol=self.protocol)))
        frame = await self.ws.receive(timeout=30)
        if frame.type != aiohttp.WSMsgType.TEXT:
            raise RuntimeError(f"{self.id}: the controller closed the tunnel: {frame.data} "
                               f"{frame.extra}")
        first = m.decode(frame.data)
        if not isinstance(first, m.Registered):
            raise RuntimeError(f"{self.id}: expected registered, got {first}")
        self.reader = asyncio.create_task(self._read(), name=f"read {self.id}")

    async def _read(self) -> None:
        """Until the connection ends; a connection the controller closed counts as ``lost``
        (e.g. declared offline because the host was too busy to heartbeat in time)."""
        assert self.ws is not None
        try:
            async for frame in self.ws:
                if frame.type != aiohttp.WSMsgType.TEXT:
                    break
                message = m.decode(frame.data)
                if isinstance(message, m.Run):
                    self.run_bytes += len(frame.data)
                await self._handle(message)
        except (aiohttp.ClientError, ConnectionError):
            pass
        self.lost = True

    async def _handle(self, message: m.Message) -> None:
        assert self.ws is not None
        now = int(time.time() * 1000)
        if isinstance(message, m.Heartbeat):
            if message.echo_ms is None:
                await self.ws.send_str(m.encode(message.reply(now)))
            else:
                self.rtts_ms.append(now - message.echo_ms)
        elif isinstance(message, m.Run):
            self.runs += 1
            if self.wave is None or self.wave.released.is_set():
                await self._answer(message)
            else:  # answered by a task: this reader must go on reading the wave's other runs
                task = asyncio.create_task(self._answer(message, self.wave))
                self._held.add(task)
                task.add_done_callback(self._held.discard)

    async def _answer(self, run: m.Run, wave: FirstWave | None = None) -> None:
        assert self.ws is not None
        if wave is not None:
            await wave.arrive()
        await self.ws.send_str(m.encode(m.Result(run.activation_id, OUTCOME)))

    async def heartbeat(self) -> None:
        if self.ws is not None and not self.ws.closed and not self.lost:
            self.seq += 1
            try:
                await self.ws.send_str(m.encode(m.Heartbeat(
                    self.seq, int(time.time() * 1000), quiet=self.quiet_beat())))
            except (aiohttp.ClientError, ConnectionError):
                self.lost = True

    def quiet_beat(self) -> bool:
        """As an idle agent's (``edgewhisk_tunnel.RTT_BEATS``): protocol 2 asks for
        an answer every ``RTT_BEATS``-th heartbeat only (the simulators confirm no results)."""
        return self.protocol >= 2 and self.seq % m.RTT_BEATS != 0

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(aiohttp.ClientError, ConnectionError):
                await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.reader


class Fleet:
    """The simulated invokers and the one ticker that heartbeats each of them every second
    (spread evenly over the second, as independent devices would be)."""

    def __init__(self, invokers: list[SimInvoker]) -> None:
        self.invokers = invokers
        self._ticker: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    async def connect(self, session: aiohttp.ClientSession, url: str) -> float:
        """Connect all (bounded parallel handshakes); the seconds it took."""
        gate, done, start = asyncio.Semaphore(CONNECT_PARALLEL), 0, time.perf_counter()

        async def one(invoker: SimInvoker) -> None:
            nonlocal done
            async with gate:
                await invoker.connect(session, url)
            done += 1
            progress("simulated invokers connected", done, len(self.invokers))

        await asyncio.gather(*(one(invoker) for invoker in self.invokers))
        self._ticker = asyncio.create_task(self._tick(), name="fleet heartbeats")
        return time.perf_counter() - start

    async def _tick(self) -> None:
        gap = HEARTBEAT_S / max(1, len(self.invokers))
        while not self._stop.is_set():
            start = time.monotonic()
            for i, invoker in enumerate(self.invokers):
                await invoker.heartbeat()
                delay = start + (i + 1) * gap - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)

    def lost(self) -> int:
        return sum(1 for invoker in self.invokers if invoker.lost)

    def heartbeat_rtt_ms(self) -> list[float]:
        return [rtt for invoker in self.invokers for rtt in invoker.rtts_ms]

    async def close(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiohttp.ClientError, ConnectionError):
                await self._ticker
        await asyncio.gather(*(invoker.close() for invoker in self.invokers),
                             return_exceptions=True)


# --- the measurements --------------------------------------------------------------------------

PROJECTED = 10_000
"""The fleet size the heartbeat cost is projected to (issue 18: within one core)."""


def heartbeat_cost(idle_pct: float, fleet_pct: float, invokers: int) -> tuple[float, float]:
    """Controller CPU µs per connected invoker per second (the fleet's CPU over idle, per
    invoker), and the projection to ``PROJECTED`` invokers in % of one core. The model: a
    heartbeat costs the same whatever the fleet's size (one frame in, one answer out, and a
    round-trip probe every ``RTT_BEATS`` heartbeat periods per connection; no work scales with
    the number of other invokers), so CPU = idle + invokers x per-invoker cost. Run
    ``--invokers 10000`` to measure it instead, where the machine can hold the simulators."""
    per_invoker = max(0.0, fleet_pct - idle_pct) / 100 * 1e6 / invokers
    return per_invoker, idle_pct + per_invoker * PROJECTED / 1e4


def round_trip_results(results: dict[str, Any], sides: dict[str, Side], pids: dict[str, int],
                       prefix: str) -> None:
    """The round trips' numbers into ``results`` (``prefix``: ``loaded_`` for those under
    load): p50/p99 of each side, tunnel/local ratios, CPU per call of each process (quiet:
    the controller's less the fleet's heartbeat CPU over the same seconds)."""
    local, tunnel = sides["noop-local"], sides["noop-tunnel"]
    if not prefix:
        results["local_invoker"], results["tunnel_invoker"] = local.where, tunnel.where
    # quiet: less the fleet's heartbeats (not the calls' work); under load the fleet's own
    # process is slowed too and sends fewer, so the CPU there is the gross figure
    fleet = {} if prefix else {"controller": results["fleet_cpu_pct"] / 100}
    for key, side in (("local", local), ("tunnel", tunnel)):
        summary = side.summary(pids, fleet)
        results[f"{prefix}{key}_rtt_ms"] = {"p50": summary["p50"], "p99": summary["p99"]}
        results[f"{prefix}{key}_cpu_ms"] = summary["cpu_ms"]
    results[f"{prefix}tunnel_local_ratio"] = ratios(sides, "noop-local", "noop-tunnel")
    results.setdefault("samples", {})[prefix or "quiet"] = {
        "local": local.samples, "tunnel": tunnel.samples}


async def wait_for(what: str, check: Callable[[], Awaitable[bool]], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"timed out waiting for {what}")


async def run_bench(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    controller = start_controller(workdir)
    client = controller.client()
    api_host, auth = controller.api_host, controller.auth
    agent: Agent | None = None
    agent_v1: Agent | None = None
    fleet: Fleet | None = None
    user, _, key = auth.partition(":")
    tunnel = tunnel_url(api_host) + m.TUNNEL_PATH
    results: dict[str, Any] = {"invokers": args.invokers, "controller_pid": controller.pid}
    connector = aiohttp.TCPConnector(limit=0)
    basic = base64.b64encode(f"{user}:{key}".encode()).decode()
    try:
        async with aiohttp.ClientSession(headers={"Authorization": f"Basic {basic}"},
                                         connector=connector,
                                         timeout=aiohttp.ClientTimeout(total=120)) as session:
            invoke = Invokes(session, client)
            print(f"tunnel bench: controller pid {controller.pid} on {api_host}", file=sys.stderr)
            results["idle_cpu_pct"], results["idle_rss_mb"] = await measure_cpu(
                controller.pid, args.window)

            # nothing else runs on this loop until the fleet connects: plain calls are fine
            agent = Agent(tunnel, str(client.tokens.create(AGENT_ID)["token"]), "--backend",
                          "process", "--memory", "1024", id=AGENT_ID, log=workdir / "agent.log",
                          own_group=True).start()
            results["agent_pid"] = agent.pid
            agent_v1 = Agent(tunnel, str(client.tokens.create(AGENT_V1)["token"]), "--backend",
                             "process", "--memory", "1024", "--protocol", "1", id=AGENT_V1,
                             log=workdir / "agent-v1.log", own_group=True).start()
            results["agent_v1_pid"] = agent_v1.pid
            actions = workdir / "actions"
            actions.mkdir()
            deploy(client, "noop-local", "local0", actions)
            deploy(client, "noop-tunnel", AGENT_ID, actions)
            deploy(client, V1, AGENT_V1, actions, padded)
            deploy(client, V2, AGENT_ID, actions, padded)
            for name, sim in SIMS_CODE.items():
                deploy(client, f"bytes-{name}", sim, actions, padded)
            deploy(client, "echo-one", ONE, actions)
            deploy(client, "echo-pool", f"{POOL_OWNER}_device", actions)

            ids = [f"sim-{i:05d}" for i in range(args.invokers)]
            tokens = []
            for i, invoker_id in enumerate(ids):
                tokens.append(str(client.tokens.create(invoker_id)["token"]))
                progress("device tokens created", i + 1, len(ids))
            fleet = Fleet([SimInvoker(invoker_id, token, POOL_OWNER, POOL_MEMORY_MB)
                           if 1 <= i <= POOL else SimInvoker(invoker_id, token)
                           for i, (invoker_id, token) in enumerate(zip(ids, tokens, strict=True))])
            sims = {name: SimInvoker(sim, str(client.tokens.create(sim)["token"]),
                                     protocol=1 if name == V1 else m.PROTOCOL_VERSION)
                    for name, sim in SIMS_CODE.items()}
            fleet.invokers += sims.values()
            results["connect_s"] = await fleet.connect(session, tunnel)
            await asyncio.sleep(min(2.0, args.window))  # every invoker heartbeats at least once
            results["fleet_cpu_pct"], results["fleet_rss_mb"] = await measure_cpu(
                controller.pid, args.window)
            devices = len(fleet.invokers) + 2  # the simulators and the two real agents
            results["heartbeat_us_per_invoker_s"], results["projected_10k_cpu_pct"] = \
                heartbeat_cost(results["idle_cpu_pct"], results["fleet_cpu_pct"], devices)
            background = {"controller": results["fleet_cpu_pct"] / 100}  # idle + heartbeats
            results["rss_kb_per_invoker"] = (
                1024 * (results["fleet_rss_mb"] - results["idle_rss_mb"]) / max(1, args.invokers))
            rtts = fleet.heartbeat_rtt_ms()
            results["heartbeat_rtt_p50_ms"] = pct(rtts, 50)
            results["heartbeat_rtt_p99_ms"] = pct(rtts, 99)

            async def agent_ready() -> bool:
                try:
                    return invoker_of(await invoke("noop-tunnel")) == AGENT_ID
                except RuntimeError:
                    return False

            await wait_for("the agent to register", agent_ready, START_TIMEOUT_S)

            async def agent_v1_ready() -> bool:
                try:
                    return invoker_of(await invoke(V1)) == AGENT_V1
                except RuntimeError:
                    return False

            await wait_for("the version-1 agent to register", agent_v1_ready, START_TIMEOUT_S)
            pids = {"controller": controller.pid, "agent": agent.pid}
            results["loadavg"] = os.getloadavg()[0]
            quiet = await interleaved(invoke, invoker_of, ("noop-local", "noop-tunnel"),
                                      args.calls, args.warmup, pids, "quiet")
            round_trip_results(results, quiet, pids, "")
            assert agent_v1 is not None
            results["protocol_ab"] = await protocol_ab(
                invoke, invoker_of, args.calls, args.warmup,
                {"controller": controller.pid, f"agent_{V1}": agent_v1.pid,
                 f"agent_{V2}": agent.pid}, sims, background)
            if args.load:
                with hogs(args.load) as results["load_pids"]:
                    results["loaded_loadavg"] = os.getloadavg()[0]
                    loaded = await interleaved(invoke, invoker_of, ("noop-local", "noop-tunnel"),
                                               args.calls, args.warmup, pids, "loaded")
                round_trip_results(results, loaded, pids, "loaded_")
            results["load_processes"] = args.load

            for invoker in fleet.invokers:
                invoker.runs = 0
            pool = fleet.invokers[1:POOL + 1]
            wave = FirstWave(min(args.concurrency, max(1, args.activations // 2)))
            for invoker in pool:
                invoker.wave = wave
            results["saturation"] = sat = await saturation(
                invoke, SATURATED, args.activations, args.concurrency,
                {"controller": controller.pid, "agent": agent.pid, HARNESS: os.getpid()},
                background)
            results["per_s_one_tunnel"] = sat["echo-one"]["per_s"]
            results["cpu_ms_one_tunnel"] = sat["echo-one"]["controller"]
            results["per_s_pool"] = sat["echo-pool"]["per_s"]
            results["cpu_ms_pool"] = sat["echo-pool"]["controller"]
            results["pool_size"] = len(pool)
            results["pool_invokers_used"] = sum(1 for invoker in pool if invoker.runs)
            results["invokers_lost"] = fleet.lost()
    finally:  # the children first: nothing a failing close raises may leave them running
        try:
            try:
                if agent is not None:
                    agent.stop()
            finally:
                if agent_v1 is not None:
                    agent_v1.stop()
        finally:
            client.close()
            controller.stop()
            if fleet is not None:
                await fleet.close()
    return results


# --- output ------------------------------------------------------------------------------------

def table(r: dict[str, Any]) -> str:
    lines = [f"{'measure':<62} {'value':>14}", f"{'-' * 62} {'-' * 14}"]

    def row(label: str, value: str) -> None:
        lines.append(f"{label:<62} {value:>14}")

    row("controller CPU, idle (% of one core)", f"{r['idle_cpu_pct']:.1f}")
    row(f"controller CPU, {r['invokers']} invokers heartbeating 1/s", f"{r['fleet_cpu_pct']:.1f}")
    row("  per invoker (µs of CPU per invoker-second)", f"{r['heartbeat_us_per_invoker_s']:.1f}")
    row(f"  projected to {PROJECTED:,} invokers (% of one core)",
        f"{r['projected_10k_cpu_pct']:.1f}")
    row("controller RSS, idle (MB)", f"{r['idle_rss_mb']:.1f}")
    row(f"controller RSS, {r['invokers']} invokers (MB)", f"{r['fleet_rss_mb']:.1f}")
    row("  per connected invoker (KB)", f"{r['rss_kb_per_invoker']:.1f}")
    row(f"fleet connect time, {r['invokers']} invokers (s)", f"{r['connect_s']:.2f}")
    row("heartbeat RTT p50 / p99 (ms)",
        f"{r['heartbeat_rtt_p50_ms']:.1f} / {r['heartbeat_rtt_p99_ms']:.1f}")
    for prefix, when in (("", "quiet"), ("loaded_", f"+{r['load_processes']} busy processes")):
        if f"{prefix}local_rtt_ms" not in r:
            continue
        row(f"warm round trips, {when}: load average (1 min)",
            f"{r[f'{prefix}loadavg']:.1f}")
        local, tunnel = r[f"{prefix}local_rtt_ms"], r[f"{prefix}tunnel_rtt_ms"]
        ratio = r[f"{prefix}tunnel_local_ratio"]
        row(f"  local {r['local_invoker']} p50 / p99 (ms)",
            f"{local['p50']:.2f} / {local['p99']:.2f}")
        row(f"  tunnel {r['tunnel_invoker']} p50 / p99 (ms)",
            f"{tunnel['p50']:.2f} / {tunnel['p99']:.2f}")
        row("  tunnel / local ratio p50 / p99 (aim <= 1.2 / 1.5)",
            f"{ratio['p50']:.2f} / {ratio['p99']:.2f}")
        row("  controller CPU/invoke, local / tunnel (ms, "
            + ("gross)" if prefix else "less heartbeats)"),
            f"{r[f'{prefix}local_cpu_ms']['controller']:.3f} / "
            f"{r[f'{prefix}tunnel_cpu_ms']['controller']:.3f}")
        row("  agent CPU per tunnelled invoke (ms)",
            f"{r[f'{prefix}tunnel_cpu_ms']['agent']:.3f}")
    for label, value in ab_rows(r["protocol_ab"]) + saturation_rows(r["saturation"]):
        row(label, value)
    row("activations/s through one tunnel", f"{r['per_s_one_tunnel']:.0f}")
    row(f"activations/s through {r['pool_size']} tunnels "
        f"({r['pool_invokers_used']} used)", f"{r['per_s_pool']:.0f}")
    row("  controller CPU per activation, one / pool (ms, less heartbeats)",
        f"{r['cpu_ms_one_tunnel']:.3f} / {r['cpu_ms_pool']:.3f}")
    row("  activations/s per core at that CPU (aim >= 3,000)",
        f"{1000 / max(1e-9, min(r['cpu_ms_one_tunnel'], r['cpu_ms_pool'])):.0f}")
    row("simulated invokers dropped (host too busy)", f"{r['invokers_lost']}")
    return "\n".join(lines)


def plot(r: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (rtt_ax, tput_ax, cpu_ax) = plt.subplots(1, 3, figsize=(14, 4.5))
    for phase, sides in r["samples"].items():
        for label, samples in sides.items():
            cdf(rtt_ax, samples, label=f"{label} invoker, {phase}",
                linestyle="-" if phase == "quiet" else "--")
    cdf_axes(rtt_ax, "warm round trip through the API (ms, log scale)",
             "no-op activation: local vs tunnel, quiet and loaded")
    tput_ax.bar(["1 tunnel", f"{r['pool_size']} tunnels"],
                [r["per_s_one_tunnel"], r["per_s_pool"]], color=["tab:blue", "tab:green"])
    tput_ax.set_ylabel("activations / s")
    tput_ax.set_title("throughput (simulated invokers)")
    cpu_ax.bar(["idle", f"{r['invokers']} invokers"], [r["idle_cpu_pct"], r["fleet_cpu_pct"]],
               color="tab:orange")
    cpu_ax.set_ylabel("controller CPU (% of one core)")
    twin = cpu_ax.twinx()
    twin.plot(["idle", f"{r['invokers']} invokers"], [r["idle_rss_mb"], r["fleet_rss_mb"]],
              "ko-", label="RSS (MB)")
    twin.set_ylabel("controller RSS (MB)")
    cpu_ax.set_title("controller cost of connected invokers")
    fig.tight_layout()
    save(fig, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--invokers", type=int, default=1000, help="simulated invokers")
    parser.add_argument("--calls", type=int, default=200, help="warm round trips per invoker")
    parser.add_argument("--warmup", type=int, default=20, help="round trips not counted")
    parser.add_argument("--activations", type=int, default=2000,
                        help="activations per throughput run")
    parser.add_argument("--concurrency", type=int, default=32, help="invokes in flight")
    parser.add_argument("--load", type=int, default=os.cpu_count() or 1, metavar="N",
                        help="busy processes (one core each) during the loaded round trips "
                             "(default: one per core; 0: no loaded round trips)")
    parser.add_argument("--window", type=float, default=10.0,
                        help="seconds over which the controller's CPU is measured")
    outputs(parser, "tunnel",
            quick="120 invokers, 10 calls, 100 activations, 2 s windows")
    args = parser.parse_args(argv)
    if args.quick:
        args.invokers, args.calls, args.warmup = 120, 10, 3
        args.activations, args.concurrency, args.window, args.load = 100, 8, 2.0, 1
    if args.invokers < 1 or args.calls < 1 or args.activations < 1 or args.window <= 0:
        parser.error("--invokers, --calls, --activations and --window must be positive")
    if args.load < 0:
        parser.error("--load must not be negative")
    if args.invokers < 2:
        parser.error("--invokers must be at least 2: one tunnel alone, and a pool beside it")
    with tempfile.TemporaryDirectory(prefix="edgewhisk-bench-tunnel-") as tmp:
        try:
            results = eventloop.run(run_bench(args, Path(tmp)))  # uvloop: a lighter harness
        except Exception as exc:
            return failed("tunnel", exc, Path(tmp), ("controller.log", "agent.log",
                                                     "agent-v1.log"))
    return report(results, args.out, args.json, plot, table)


if __name__ == "__main__":
    sys.exit(main())
