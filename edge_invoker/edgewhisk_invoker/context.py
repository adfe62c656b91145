"""Device context the agent reports: battery level, charging, networks joined, idle, metered.

Why an interface with a simulator beside the real thing: the controller acts on what a device
reports (its networks are placement's ``NetworkMembership``, its battery and charging a preload's
device selector), but most machines this runs on in development and CI have no battery and never
change networks. So :class:`Battery` has two
implementations side by side, and :func:`choose_battery` takes the real one when the machine has
a battery:

- :class:`SysfsBattery` reads Linux's ``/sys/class/power_supply/<name>/{type,capacity,status}``
  (the first supply whose ``type`` is ``Battery``);
- :class:`SimulatedBattery` is documented and deterministic (no randomness). The level starts at
  ``level`` and, per second, drains by ``idle`` plus ``load`` per activation in flight; the
  device is plugged in for the last ``plugged`` seconds of every ``period`` seconds (a nightly
  charge, compressed), during which it gains ``charge`` per second instead. The level stays in
  [0, 1]; reads integrate exactly across plug/unplug boundaries. Its parameters come from
  ``--battery-sim key=value,...`` (:func:`parse_sim_spec`).

Networks come from ``--network NAME`` (joined at start) and ``--network-schedule T:+NAME`` /
``T:-NAME`` (join / leave T seconds after start): :class:`NetworkSchedule`.

Two more flags are reported only when the agent is told how to tell them (so an agent started
without them sends the frames a controller of protocol version 1 knows):

- ``idle`` with ``--idle-after S``: no activation has run on the device for ``S`` seconds (the
  agent's own activity is what it can tell; a freshly started agent is busy until then);
- ``metered`` with ``--metered-network NAME`` (repeatable): the device has joined networks and
  every one of them is metered (a phone on mobile data only); on any other network it is not.

:class:`ContextMonitor` samples both every ``tick_s`` seconds on a loop timer (one
``TimerHandle`` attribute, cancelled in :meth:`ContextMonitor.stop`) and calls back only when the
reported context changes: the battery in steps of ``report_step`` (1 % by default), charging,
the set of networks, idle or metered. :meth:`ContextMonitor.sample` takes the time explicitly,
so tests drive it without waiting.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields, replace
from pathlib import Path

POWER_SUPPLY = Path("/sys/class/power_supply")
CHARGING_STATES = {"Charging": True, "Full": True, "Discharging": False, "Not charging": False}


@dataclass(frozen=True)
class DeviceContext:
    """What a ``context`` message carries (``battery``/``charging`` None: no battery)."""

    battery: float | None
    charging: bool | None
    networks: frozenset[str]
    idle: bool | None = None  # None: not reported (no --idle-after)
    metered: bool | None = None  # None: not reported (no --metered-network)


@dataclass(frozen=True)
class BatteryReading:
    level: float        # 0..1
    charging: bool | None


class Battery(ABC):
    """Where the battery level comes from; ``kind`` is reported at registration."""

    kind: str

    @abstractmethod
    def read(self, elapsed_s: float, in_flight: int) -> BatteryReading | None:
        """The reading ``elapsed_s`` seconds after start with ``in_flight`` activations running
        (None: no battery)."""


class NoBattery(Battery):
    """Mains-powered (a cloud node): nothing to report."""

    kind = "none"

    def read(self, elapsed_s: float, in_flight: int) -> BatteryReading | None:
        return None


class SysfsBattery(Battery):
    """Linux's power-supply class; ``root`` is a parameter so tests can point it at a folder."""

    kind = "sysfs"

    def __init__(self, supply: Path) -> None:
        self.supply = supply

    @classmethod
    def find(cls, root: Path = POWER_SUPPLY) -> SysfsBattery | None:
        """The first supply of type ``Battery`` that reports a capacity, else None."""
        try:
            supplies = sorted(root.iterdir())
        except OSError:
            return None
        for supply in supplies:
            if _read(supply / "type") == "Battery" and _read(supply / "capacity") is not None:
                return cls(supply)
        return None

    def read(self, elapsed_s: float, in_flight: int) -> BatteryReading | None:
        capacity = _read(self.supply / "capacity")
        if capacity is None or not capacity.isdigit():
            return None
        status = _read(self.supply / "status") or ""
        return BatteryReading(min(1.0, int(capacity) / 100), CHARGING_STATES.get(status))


@dataclass(frozen=True)
class SimConfig:
    """The simulator's parameters (rates are fractions of a full battery per second)."""

    level: float = 0.8
    idle: float = 0.0002
    load: float = 0.001
    charge: float = 0.005
    period: float = 3600.0
    plugged: float = 600.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.level <= 1.0:
            raise ValueError(f"level must be within 0..1, got {self.level}")
        if min(self.idle, self.load, self.charge, self.plugged) < 0 or self.period <= 0:
            raise ValueError("rates and 'plugged' must be >= 0 and 'period' > 0")


def parse_sim_spec(spec: str) -> SimConfig:
    """``"level=0.5,load=0.01,period=60,plugged=10"`` -> SimConfig (unknown keys are errors)."""
    known = {f.name for f in fields(SimConfig)}
    values: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        key, sep, value = part.partition("=")
        if not sep or key.strip() not in known:
            raise ValueError(f"--battery-sim: expected key=value with key in "
                             f"{', '.join(sorted(known))}, got {part!r}")
        try:
            values[key.strip()] = float(value)
        except ValueError:
            raise ValueError(f"--battery-sim: {key.strip()} must be a number, "
                             f"got {value!r}") from None
    return replace(SimConfig(), **values)


class SimulatedBattery(Battery):
    """The documented model of the module docstring, integrated between reads."""

    kind = "simulated"

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        self.level = self.config.level
        self._last_s = 0.0

    def charging_at(self, elapsed_s: float) -> bool:
        c = self.config
        return elapsed_s % c.period >= c.period - c.plugged

    def read(self, elapsed_s: float, in_flight: int) -> BatteryReading | None:
        """Integrates exactly across plug/unplug boundaries since the last read (the load is
        taken as constant in between: reads are ``tick_s`` apart)."""
        c = self.config
        drain = c.idle + c.load * max(0, in_flight)
        t = self._last_s
        while t < elapsed_s:
            phase = t % c.period
            charging = self.charging_at(t)
            boundary = t - phase + (c.period if charging else c.period - c.plugged)
            end = min(elapsed_s, boundary) if boundary > t else elapsed_s
            rate = c.charge if charging else -drain
            self.level = min(1.0, max(0.0, self.level + rate * (end - t)))
            t = end
        self._last_s = max(self._last_s, elapsed_s)
        return BatteryReading(self.level, self.charging_at(elapsed_s))


def choose_battery(sim: SimConfig | None, root: Path = POWER_SUPPLY) -> Battery:
    """The simulator when asked for, else the real battery if there is one, else a simulator."""
    if sim is not None:
        return SimulatedBattery(sim)
    return SysfsBattery.find(root) or SimulatedBattery()


@dataclass(frozen=True)
class NetworkEvent:
    at_s: float
    join: bool
    name: str


def parse_network_event(text: str) -> NetworkEvent:
    """``"30:+wifi"`` (join wifi 30 s after start) or ``"90:-wifi"`` (leave it)."""
    at, sep, change = text.partition(":")
    if not sep or len(change) < 2 or change[0] not in "+-":
        raise ValueError(f"--network-schedule: expected SECONDS:+NAME or SECONDS:-NAME, "
                         f"got {text!r}")
    try:
        at_s = float(at)
    except ValueError:
        raise ValueError(f"--network-schedule: {at!r} is not a number of seconds") from None
    return NetworkEvent(at_s, change[0] == "+", change[1:])


class NetworkSchedule:
    """The networks joined ``elapsed_s`` after start: the initial ones, then the events in
    time order (a later event for the same name wins)."""

    def __init__(self, initial: Iterable[str] = (), events: Iterable[NetworkEvent] = ()) -> None:
        self.initial = frozenset(initial)
        self.events = sorted(events, key=lambda e: e.at_s)

    def at(self, elapsed_s: float) -> frozenset[str]:
        joined = set(self.initial)
        for event in self.events:
            if event.at_s > elapsed_s:
                break
            (joined.add if event.join else joined.discard)(event.name)
        return frozenset(joined)


class ContextMonitor:
    """Samples a battery and a network schedule; calls back when the reported context changes."""

    def __init__(self, battery: Battery, networks: NetworkSchedule, *, tick_s: float = 1.0,
                 report_step: float = 0.01, idle_after_s: float | None = None,
                 metered_networks: Iterable[str] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.battery = battery
        self.networks = networks
        self.tick_s = tick_s
        self.report_step = report_step
        self.idle_after_s = idle_after_s
        self.metered_networks = None if metered_networks is None else frozenset(metered_networks)
        self.in_flight = 0
        self._busy_s = 0.0  # when an activation last ran (elapsed seconds)
        self._clock = clock
        self._started = clock()
        self._reported = self._read(0.0)
        self._on_change: Callable[[DeviceContext], None] | None = None
        self._timer: asyncio.TimerHandle | None = None

    def snapshot(self) -> DeviceContext:
        """The context as last reported (what the controller knows)."""
        return self._reported

    def _read(self, elapsed_s: float) -> DeviceContext:
        reading = self.battery.read(elapsed_s, self.in_flight)
        networks = self.networks.at(elapsed_s)
        if self.in_flight:
            self._busy_s = max(self._busy_s, elapsed_s)
        idle = None if self.idle_after_s is None else (
            not self.in_flight and elapsed_s - self._busy_s >= self.idle_after_s)
        metered = None if self.metered_networks is None else (
            bool(networks) and networks <= self.metered_networks)
        if reading is None:
            return DeviceContext(None, None, networks, idle, metered)
        return DeviceContext(reading.level, reading.charging, networks, idle, metered)

    def sample(self, elapsed_s: float) -> DeviceContext | None:
        """Read at ``elapsed_s``; the new context if it differs enough to report, else None."""
        current = self._read(elapsed_s)
        old = self._reported
        moved = (current.battery is None) != (old.battery is None) or (
            current.battery is not None and old.battery is not None
            and (abs(current.battery - old.battery) >= self.report_step
                 or current.battery in (0.0, 1.0) and current.battery != old.battery))
        if moved or (current.charging, current.networks, current.idle, current.metered) != (
                old.charging, old.networks, old.idle, old.metered):
            self._reported = current
            return current
        return None

    def start(self, on_change: Callable[[DeviceContext], None]) -> None:
        """Sample every ``tick_s`` on the running loop; idempotent."""
        self._on_change = on_change
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.tick_s, self._tick)

    def _tick(self) -> None:
        self._timer = asyncio.get_running_loop().call_later(self.tick_s, self._tick)
        changed = self.sample(self._clock() - self._started)
        if changed is not None and self._on_change is not None:
            self._on_change(changed)

    def stop(self) -> None:
        """Cancel the timer; idempotent."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None
