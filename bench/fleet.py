"""``edgewhisk bench fleet``: preload over a simulated fleet's day, three ways side by side.

A fleet of phones (default 1,000; ``--quick`` 60) lives two simulated days (10-minute steps),
seeded. Each phone has an owner and a workplace (one of the sites); it is at home, unplugged,
then commutes on mobile data (metered), works at its site on the site's Wi-Fi, and goes home,
where it charges overnight on its home network. Its battery is the agent's documented
simulator (``edgewhisk_invoker.context.SimulatedBattery``: the nightly charge compressed into
its ``period``) and its networks the agent's ``NetworkSchedule``. On arriving at work its
first activation needs the site's model; on arriving home, the owner's personal model.

Every phone is a ``Target`` of the controller's own components, in this process: the real
placement ``Engine`` (context reports go through ``heartbeat``, as the tunnel hub sends them),
the real ``StandingPreloads`` and ``Predictor`` listening to it, a real ``ArtifactRegistry``
(SQLite and a blob folder) and, per phone, a real ``NodeStore`` with a byte budget, staged by
the runtime's ``stage`` as an invoker stages. No tunnel: the transfers are local copies (the
tunnel's own benchmark measures those). A seeded sample of real ``edgewhisk invoker`` agents
then reports through a real controller's tunnel (``_fleet_tunnel.py``): the controller's CPU
per context event end to end, and a standing policy's preloads over the tunnel.

Three fleets run the same seeded days side by side:

- ``none``: nothing preloaded; a first activation finds its model only if an earlier one left
  it in the store;
- ``standing``: one standing policy per site model (``{"labels": {"workplace": S},
  "charging": true, "unmetered": true}``), what an operator would write;
- ``predict``: no policies; the predictor learns from day 1's placements and preloads.

Reported for day 2 (day 1 teaches the predictor): first-activation cache-hit rate; bytes
preloaded and never used by the end of the day; node-store budget violations (a store above
its budget: must be 0); preloads while the phone was discharging or on a metered network
(must be 0); controller CPU per context event (process CPU time spent in ``heartbeat`` and
everything it triggers, preload decisions included, divided by the context events). Then,
with 0 and with many activations pending on ``charging``, the CPU of a heartbeat that changes
nothing they wait for (a battery level) and how many placements it re-tried (must be 0).

    python bench/fleet.py [--quick] [--devices N] [--tunnel-sample N] [--seed 0] [--json]
        [--out PNG]
    edgewhisk bench fleet [same options]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import functools
import hashlib
import json
import random
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _fleet_tunnel import tunnel_sample  # bench/ is on sys.path (see _report.py)
from edgewhisk_controller.artifacts import ArtifactRegistry, NewArtifact
from edgewhisk_controller.artifacts.predict import Predictor
from edgewhisk_controller.artifacts.standing import StandingPreloads
from edgewhisk_controller.blobs import open_blobs
from edgewhisk_controller.dispatch.pending import PendingWork, Waiting
from edgewhisk_controller.placement import (
    Constraint,
    Constraints,
    Engine,
    InvokerState,
    PlacementRequest,
    Unschedulable,
)
from edgewhisk_controller.placement.constraints import DeviceStateArgs
from edgewhisk_controller.stores import open_store
from edgewhisk_invoker.context import SimConfig, SimulatedBattery
from edgewhisk_runtime.artifacts.stage import stage
from edgewhisk_runtime.artifacts.store import NodeStore
from edgewhisk_tunnel import Consumed

HERE = Path(__file__).resolve().parent
NS = "fleet"
DAY_S = 86_400
STEP_S = 600
SITES = 5
MODEL_BYTES = 64 * 1024
STORE_BYTES = 3 * MODEL_BYTES + MODEL_BYTES // 2  # room for three models
STRATEGIES = ("none", "standing", "predict")
RETRAIN_AT_S = 3 * 3600
"""When every model gets a new version each day (a nightly retrain in the cloud)."""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class Day:
    """A phone's seeded routine (seconds of the day)."""

    leave: int  # leaves home (unplugged, on mobile data)
    arrive: int  # at work (site Wi-Fi)
    back: int  # home again (home Wi-Fi; plugged in from ``plug``)
    plug: int


@dataclass
class Phone:
    """A simulated device: the agent's battery simulator and network schedule, a node store."""

    id: str
    owner: str
    workplace: str
    day: Day
    store: NodeStore
    registry: ArtifactRegistry
    battery: SimulatedBattery
    context: dict[str, Any] = field(default_factory=dict)
    site: str = ""
    networks: frozenset[str] = frozenset()
    charging: bool = False
    level: float = 0.5

    def state(self) -> InvokerState:
        return InvokerState(self.id, frozenset({"python:3"}), 1024, 1024, 0, role="edge",
                            owner=self.owner, site=self.site, networks=self.networks,
                            labels={"workplace": self.workplace}, namespaces=frozenset({NS}),
                            cached=frozenset(self.store.keys()), battery=self.level,
                            charging=self.charging, metered=self.networks == {"cell"})

    async def preload(self, doc: dict[str, Any]) -> str:
        if self.store.get(doc["_id"]) is not None:
            return "cached"
        await self.fetch(doc)
        return "preloaded"

    async def fetch(self, doc: dict[str, Any]) -> None:
        consumed = Consumed(name="m", kind="model", key=doc["_id"], sha256=doc["sha256"],
                            size=doc["size"], format=doc["format"], locality="cloud")

        async def copy(_: Any, dest: Path) -> None:
            with open(dest, "wb") as out:
                async for chunk in self.registry.blobs.get(f"{NS}/{doc['name']}@"
                                                           f"{doc['version']}"):
                    out.write(chunk)

        await stage(self.store, [consumed], copy, tmp=self.store.tmp)
        self.registry.follow(self.id, self.store.keys())  # its report, as the hub relays it


def routine(rng: random.Random) -> Day:
    leave = rng.randrange(6 * 3600, 9 * 3600, STEP_S)
    arrive = leave + rng.choice((1, 2, 3)) * STEP_S
    back = rng.randrange(16 * 3600, 20 * 3600, STEP_S)
    return Day(leave, arrive, back, back + rng.choice((1, 6, 12)) * STEP_S)


def battery_of(day: Day) -> tuple[SimulatedBattery, int]:
    """The agent's simulator plugged from ``day.plug`` until an hour before ``day.leave``,
    and the offset of its clock: its plugged window is the end of each period."""
    offset = day.leave - 3600
    plugged = DAY_S - day.plug + offset
    return SimulatedBattery(SimConfig(level=0.6, idle=0.000004, load=0.0, charge=0.0002,
                                      period=DAY_S, plugged=plugged)), offset


def where(phone: Phone, t: int) -> tuple[str, frozenset[str]]:
    """(site, networks) at second ``t`` of a day."""
    d = phone.day
    if t < d.leave or t >= d.back:
        return f"home_{phone.owner}", frozenset({f"home_{phone.owner}"})
    if t < d.arrive:
        return "commute", frozenset({"cell"})
    return phone.workplace, frozenset({f"wifi_{phone.workplace}"})


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


@dataclass
class Tally:
    """What one strategy's fleet did on the measured day."""

    first: int = 0
    hits: int = 0
    preloaded: dict[tuple[str, str], int] = field(default_factory=dict)  # (phone, key) -> bytes
    used: set[tuple[str, str]] = field(default_factory=set)
    violations: int = 0
    unsafe: int = 0  # preloads while discharging or metered
    events: int = 0
    cpu_s: float = 0.0


class Fleet:
    """One strategy's phones over the controller's components."""

    def __init__(self, strategy: str, root: Path, devices: int, seed: int,
                 clock: list[float]) -> None:
        self.strategy, self.root, self.devices, self.seed = strategy, root, devices, seed
        self.engine = Engine()
        self.store = open_store(str(root / "store.sqlite3"))
        self.registry = ArtifactRegistry(self.store, open_blobs(str(root / "blobs")),
                                         max_size=10**9)
        self.phones: dict[str, Phone] = {}
        self.offsets: dict[str, int] = {}
        self.tally = Tally()
        self.standing = StandingPreloads(self.store, self.registry, self.engine,
                                         self.phones.get, self.phones.keys,
                                         Predictor(clock=lambda: clock[0]))
        self.standing.decisions = collections.deque()  # all of them: the tally reads each

    async def setup(self) -> None:
        rng = random.Random(self.seed)
        owners = [f"u{i}" for i in range(self.devices)]
        for name in [f"site{i}-model" for i in range(SITES)] + [f"{o}-model" for o in owners]:
            data = hashlib.sha256(name.encode()).digest() * (MODEL_BYTES // 32)
            await self.registry.create(NS, NewArtifact(name, "model", NS), _chunks(data))
        for i, owner in enumerate(owners):
            day = routine(rng)
            battery, offset = battery_of(day)
            phone = Phone(f"{owner}-phone", owner, f"site{i % SITES}", day,
                          NodeStore(self.root / "stores" / owner, capacity_bytes=STORE_BYTES,
                                    by=owner), self.registry, battery)
            self.phones[phone.id] = phone
            self.offsets[phone.id] = offset
            self.sample(phone, 0)
            self.engine.register(phone.state())
        if self.strategy == "standing":
            for site in range(SITES):
                await self.standing.add(NS, f"site{site}-model", {
                    "labels": {"workplace": f"site{site}"}, "charging": True,
                    "unmetered": True}, ())

    def sample(self, phone: Phone, t: int) -> dict[str, Any]:
        """Read the simulators at second ``t``; what changed (a ``context`` report)."""
        site, networks = where(phone, t % DAY_S)
        reading = phone.battery.read(max(0.0, float(t - self.offsets[phone.id])), 0)
        assert reading is not None
        changes: dict[str, Any] = {}
        if site != phone.site:
            changes["site"] = phone.site = site
        if networks != phone.networks:
            changes["networks"] = phone.networks = networks
            changes["metered"] = networks == {"cell"}
        if bool(reading.charging) != phone.charging:
            changes["charging"] = phone.charging = bool(reading.charging)
        if abs(reading.level - phone.level) >= 0.01:
            changes["battery"] = phone.level = round(reading.level, 2)
        return changes

    async def step(self, t: int, measuring: bool) -> None:
        """Every phone reports what changed at ``t``; arrivals run their first activation.
        The controller's CPU counts ``heartbeat`` and the evaluations it starts."""
        tally, cpu, arrivals = self.tally, 0.0, []
        if t % DAY_S == RETRAIN_AT_S:  # the nightly retrain: new versions of every model
            await self.retrain(measuring)
        for phone in self.phones.values():
            before = phone.site
            changes = self.sample(phone, t)
            if changes:
                started = time.process_time()
                self.engine.heartbeat(phone.id, **changes)
                cpu += time.process_time() - started
                tally.events += measuring
            if "site" in changes and phone.site != "commute" and before != phone.site:
                arrivals.append(phone)
        for phone in arrivals:
            await self.first_activation(phone, measuring)
        started = time.process_time()
        await self.standing.settled()
        await self.registry.settled()
        cpu += time.process_time() - started
        if measuring:
            tally.cpu_s += cpu
        self.tally_decisions(measuring)
        for phone in self.phones.values():
            tally.violations += phone.store.used_bytes > STORE_BYTES

    async def retrain(self, measuring: bool) -> None:
        names = [f"site{i}-model" for i in range(SITES)] + \
            [f"{p.owner}-model" for p in self.phones.values()]
        for name in names:
            version = (await self.registry.get(NS, name))["version"] + 1
            data = hashlib.sha256(f"{name}@{version}".encode()).digest() * (MODEL_BYTES // 32)
            await self.registry.create(NS, NewArtifact(name, "model", NS), _chunks(data))
        await self.standing.settled()
        self.tally_decisions(measuring)

    def tally_decisions(self, measuring: bool) -> None:
        while self.standing.decisions:
            d = self.standing.decisions.popleft()
            phone = self.phones[d["invoker"]]
            if d["status"] == "preloaded" and measuring:
                self.tally.preloaded[(phone.id, d["artifact"])] = MODEL_BYTES
                self.tally.unsafe += not phone.charging or phone.networks == {"cell"}

    async def first_activation(self, phone: Phone, measuring: bool) -> None:
        """The first activation after arriving: the site's model at work, the owner's at home."""
        home = phone.site == f"home_{phone.owner}"
        name = f"{phone.owner}-model" if home else f"{phone.workplace}-model"
        doc = await self.registry.get(NS, name)
        hit = phone.store.get(doc["_id"]) is not None
        if measuring:
            self.tally.first += 1
            self.tally.hits += hit
            self.tally.used.add((phone.id, doc["_id"]))
        self.standing.predictor.observe(NS, phone.state(), [name] if self.strategy == "predict"
                                        else [])
        if not hit:
            await phone.fetch(doc)  # staged for the run, as an invoker stages it
        self.engine.heartbeat(phone.id, cached=frozenset(phone.store.keys()))

    def report(self) -> dict[str, Any]:
        t = self.tally
        unused = sum(size for key, size in t.preloaded.items() if key not in t.used)
        return {"strategy": self.strategy, "first_activations": t.first,
                "hit_rate": round(t.hits / t.first, 4) if t.first else None,
                "preloaded_bytes": sum(t.preloaded.values()), "unused_bytes": unused,
                "budget_violations": t.violations, "unsafe_preloads": t.unsafe,
                "context_events": t.events,
                "cpu_us_per_event": round(1e6 * t.cpu_s / t.events, 1) if t.events else None}


async def simulate(args: argparse.Namespace) -> dict[str, Any]:
    clock = [0.0]
    with tempfile.TemporaryDirectory(prefix="edgewhisk-bench-fleet-") as tmp:
        fleets = [Fleet(s, Path(tmp) / s, args.devices, args.seed, clock) for s in STRATEGIES]
        for fleet in fleets:
            await fleet.setup()
        for fleet in fleets:  # one after the other, on the same seeded days
            for t in range(0, 2 * DAY_S, STEP_S):
                clock[0] = float(t)
                await fleet.step(t, measuring=t >= DAY_S)
            log(f"simulated 48 h of {fleet.strategy}")
        rows = [fleet.report() for fleet in fleets]
        for fleet in fleets:
            await fleet.standing.settled()
            await fleet.registry.close()
            await fleet.store.close()
    counts = (0, 100, 1000) if args.quick else (0, 1000, 10_000)
    cost = await pending_cost(args.devices, counts, 2000 if args.quick else 20_000)
    sample = None
    if args.tunnel_sample:
        with tempfile.TemporaryDirectory(prefix="edgewhisk-bench-fleet-tunnel-") as tmp:
            sample = await asyncio.to_thread(tunnel_sample, args.tunnel_sample, args.seed,
                                             4.0 if args.quick else 20.0, Path(tmp))
        log(f"ran the real-tunnel sample of {args.tunnel_sample} agents")
    return {"devices": args.devices, "seed": args.seed, "sites": SITES, "step_s": STEP_S,
            "store_bytes": STORE_BYTES, "model_bytes": MODEL_BYTES, "rows": rows,
            "pending_cost": cost, "tunnel_sample": sample}


async def pending_cost(devices: int, counts: tuple[int, ...], beats: int) -> list[dict[str, Any]]:
    """Controller CPU per heartbeat that changes nothing pending work waits for (a battery
    level), with 0 and with many activations pending on ``charging``, side by side: the index
    (``dispatch/pending.py``) makes it the same."""
    rows = []
    for count in counts:
        engine, loop = Engine(), asyncio.get_running_loop()
        for i in range(devices):
            engine.register(InvokerState(f"d{i}", frozenset({"python:3"}), 1024, 1024, 0,
                                         role="edge", battery=0.5, charging=False))
        pending = PendingWork(engine)
        bound = Constraints((Constraint(DeviceStateArgs("charging", True), True),))
        request = PlacementRequest("fleet/retrain", "python:3", 128, NS, version="0.0.1")
        first = engine.place(request, bound)
        assert isinstance(first, Unschedulable)
        place = functools.partial(engine.place, request, bound)
        tasks = [loop.create_task(pending.wait(Waiting(
            f"a{i}", NS, request.action, 0, 2**62, place, 128, request.key, first,
            loop.create_future()))) for i in range(count)]
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        tried = pending.retries
        started = time.process_time()
        for beat in range(beats):
            engine.heartbeat(f"d{beat % devices}", battery=0.2 + (beat % 50) / 100)
        await asyncio.sleep(0)
        cpu = time.process_time() - started
        rows.append({"pending": count, "heartbeats": beats,
                     "us_per_heartbeat": round(1e6 * cpu / beats, 2),
                     "retries": pending.retries - tried})
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return rows


def table(doc: dict[str, Any]) -> str:
    head = ("strategy", "first acts", "hit rate", "preloaded MB", "unused MB", "budget viol.",
            "unsafe preloads", "ctx events", "CPU us/event")
    lines = [" | ".join(head), " | ".join("---" for _ in head)]
    for r in doc["rows"]:
        lines.append(" | ".join(str(v) for v in (
            r["strategy"], r["first_activations"], f"{100 * (r['hit_rate'] or 0):.1f} %",
            f"{r['preloaded_bytes'] / 1e6:.2f}", f"{r['unused_bytes'] / 1e6:.2f}",
            r["budget_violations"], r["unsafe_preloads"], r["context_events"],
            r["cpu_us_per_event"])))
    base = doc["rows"][0]["hit_rate"] or 0
    ratios = ", ".join(f"{r['strategy']} x{(r['hit_rate'] or 0) / base:.2f}"
                       for r in doc["rows"][1:]) if base else "no hits without preload"
    cost = doc["pending_cost"]
    lines += ["", "pending | heartbeats | us/heartbeat | placements re-tried",
              "--- | --- | --- | ---"]
    lines += [f"{r['pending']} | {r['heartbeats']} | {r['us_per_heartbeat']} | {r['retries']}"
              for r in cost]
    base = cost[0]["us_per_heartbeat"] or 1e-9
    per = ", ".join(f"{r['pending']} pending x{r['us_per_heartbeat'] / base:.2f}"
                    for r in cost[1:])
    return "\n".join(lines[:len(doc["rows"]) + 2]) + f"\nhit rate against none: {ratios}\n" + \
        "\n".join(lines[len(doc["rows"]) + 2:]) + \
        f"\nheartbeat cost against none pending: {per}" + sample_table(doc["tunnel_sample"])


def sample_table(s: dict[str, Any] | None) -> str:
    """The real-tunnel sample's row (nothing with ``--tunnel-sample 0``)."""
    if s is None:
        return ""
    return ("\n\nreal tunnel sample | window s | ctx events | controller CPU s | CPU us/event "
            "(upper bound) | preloaded | holding at end | unsafe preloads\n"
            "--- | --- | --- | --- | --- | --- | --- | ---\n"
            f"{s['devices']} agents | {s['window_s']} | {s['context_events']} | "
            f"{s['controller_cpu_s']} | {s['cpu_us_per_event']} | {s['preloaded']} | "
            f"{s['held_at_end']}/{s['devices']} | {s['unsafe_preloads']}")


def plot(doc: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = doc["rows"]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    names = [r["strategy"] for r in rows]
    axes[0].bar(names, [100 * (r["hit_rate"] or 0) for r in rows])
    axes[0].set_title("first-activation cache hits (%)")
    axes[1].bar(names, [r["unused_bytes"] / 1e6 for r in rows])
    axes[1].set_title("preloaded, never used (MB)")
    axes[2].bar(names, [r["cpu_us_per_event"] or 0 for r in rows])
    axes[2].set_title("controller CPU per context event (us)")
    fig.suptitle(f"{doc['devices']} devices, seed {doc['seed']}: day 2")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="edgewhisk bench fleet", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="60 devices")
    p.add_argument("--devices", type=int, default=None)
    p.add_argument("--tunnel-sample", type=int, default=None, metavar="N",
                   help="real agents reporting through a real tunnel (default 10, --quick 2; "
                        "0: none)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.add_argument("--out", type=Path, default=HERE / "out" / "fleet.png")
    args = p.parse_args(argv)
    args.devices = args.devices or (60 if args.quick else 1000)
    if args.tunnel_sample is None:
        args.tunnel_sample = 2 if args.quick else 10
    if args.tunnel_sample < 0:
        p.error("--tunnel-sample must be 0 or more")
    if args.devices < SITES:
        p.error(f"--devices must be at least {SITES}")
    doc = asyncio.run(simulate(args))
    plot(doc, args.out)
    print(table(doc), file=sys.stderr if args.json else sys.stdout)
    if args.json:
        print(json.dumps(doc))
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
