"""Device context: the documented battery simulator, the sysfs reader, network schedules,
and the monitor that reports only real changes (times given explicitly: no waiting)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from edgewhisk_invoker.context import (
    BatteryReading,
    ContextMonitor,
    DeviceContext,
    NetworkEvent,
    NetworkSchedule,
    NoBattery,
    SimConfig,
    SimulatedBattery,
    SysfsBattery,
    choose_battery,
    parse_network_event,
    parse_sim_spec,
)


def _is(reading: BatteryReading | None, level: float, charging: bool | None) -> bool:
    return (reading is not None and reading.level == pytest.approx(level)
            and reading.charging is charging)


def test_the_simulated_battery_drains_faster_under_load() -> None:
    config = SimConfig(level=1.0, idle=0.001, load=0.01, period=1000, plugged=0)
    idle, busy = SimulatedBattery(config), SimulatedBattery(config)
    assert _is(idle.read(10, 0), 0.99, False)
    assert _is(busy.read(10, 2), 0.79, False)


def test_the_simulated_battery_charges_in_the_plugged_window_of_each_period() -> None:
    config = SimConfig(level=0.9, idle=0.01, load=0, charge=0.02, period=100, plugged=20)
    battery = SimulatedBattery(config)
    assert [battery.charging_at(t) for t in (0, 79, 80, 99, 100, 185)] == \
        [False, False, True, True, False, True]
    assert _is(battery.read(80, 0), 0.1, True)
    assert _is(battery.read(100, 0), 0.5, False)
    assert _is(battery.read(130, 0), 0.2, False)


def test_one_long_read_integrates_across_the_plug_boundaries() -> None:
    config = SimConfig(level=0.9, idle=0.01, load=0, charge=0.02, period=100, plugged=20)
    assert _is(SimulatedBattery(config).read(130, 0), 0.2, False)


def test_the_simulated_level_stays_within_zero_and_one() -> None:
    battery = SimulatedBattery(SimConfig(level=0.1, idle=0.05, load=0, charge=0.5,
                                         period=100, plugged=50))
    assert _is(battery.read(10, 0), 0.0, False)
    assert _is(battery.read(60, 0), 1.0, True)


def test_reads_out_of_order_do_not_recharge_the_past() -> None:
    battery = SimulatedBattery(SimConfig(level=1.0, idle=0.01, period=1000, plugged=0))
    first = battery.read(10, 0)
    assert battery.read(5, 0) == first


@pytest.mark.parametrize(("spec", "config"), [
    pytest.param("", SimConfig(), id="empty-means-defaults"),
    pytest.param("level=0.3, load=0.05", SimConfig(level=0.3, load=0.05), id="some-keys"),
    pytest.param("period=60,plugged=10,charge=0.1,idle=0",
                 SimConfig(period=60, plugged=10, charge=0.1, idle=0), id="a-fast-schedule"),
])
def test_sim_specs(spec: str, config: SimConfig) -> None:
    assert parse_sim_spec(spec) == config


@pytest.mark.parametrize(("spec", "message"), [
    pytest.param("voltage=3", "expected key=value with key in", id="an-unknown-key"),
    pytest.param("level", "expected key=value", id="no-value"),
    pytest.param("level=full", "level must be a number", id="not-a-number"),
    pytest.param("level=1.5", "level must be within 0..1", id="a-level-above-one"),
    pytest.param("period=0", "'period' > 0", id="a-zero-period"),
])
def test_bad_sim_specs(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_sim_spec(spec)


def _supply(root: Path, name: str, kind: str, capacity: str | None = None,
            status: str | None = None) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "type").write_text(kind + "\n")
    if capacity is not None:
        (folder / "capacity").write_text(capacity + "\n")
    if status is not None:
        (folder / "status").write_text(status + "\n")
    return folder


@pytest.mark.parametrize(("status", "charging"), [
    pytest.param("Charging", True, id="charging"),
    pytest.param("Full", True, id="full-on-mains"),
    pytest.param("Discharging", False, id="discharging"),
    pytest.param("Not charging", False, id="not-charging"),
    pytest.param("Unknown", None, id="unknown"),
])
def test_the_sysfs_battery_reads_capacity_and_status(tmp_path: Path, status: str,
                                                     charging: bool | None) -> None:
    _supply(tmp_path, "AC", "Mains")
    _supply(tmp_path, "BAT0", "Battery", "73", status)
    battery = SysfsBattery.find(tmp_path)
    assert battery is not None and battery.supply.name == "BAT0"
    assert _is(battery.read(0, 0), 0.73, charging)


def test_without_a_battery_the_simulator_is_chosen(tmp_path: Path) -> None:
    _supply(tmp_path, "AC", "Mains")
    _supply(tmp_path, "BAT1", "Battery")  # no capacity: not usable
    assert SysfsBattery.find(tmp_path) is None
    assert choose_battery(None, tmp_path).kind == "simulated"
    assert choose_battery(None, tmp_path / "absent").kind == "simulated"


def test_a_real_battery_is_preferred_unless_the_simulator_is_asked_for(tmp_path: Path) -> None:
    _supply(tmp_path, "BAT0", "Battery", "50", "Charging")
    assert choose_battery(None, tmp_path).kind == "sysfs"
    assert choose_battery(SimConfig(), tmp_path).kind == "simulated"


def test_networks_join_and_leave_on_schedule() -> None:
    schedule = NetworkSchedule(["home"], [parse_network_event("30:-home"),
                                          parse_network_event("10:+office"),
                                          parse_network_event("40:+home")])
    assert [sorted(schedule.at(t)) for t in (0, 10, 30, 40)] == \
        [["home"], ["home", "office"], ["office"], ["home", "office"]]


@pytest.mark.parametrize("text", [pytest.param("wifi", id="no-time"),
                                  pytest.param("10:wifi", id="no-sign"),
                                  pytest.param("soon:+wifi", id="not-seconds"),
                                  pytest.param("10:+", id="no-name")])
def test_bad_network_events(text: str) -> None:
    with pytest.raises(ValueError, match="--network-schedule"):
        parse_network_event(text)


def test_a_network_event_parses() -> None:
    assert parse_network_event("2.5:-lab") == NetworkEvent(2.5, False, "lab")


def test_the_monitor_reports_only_changes_worth_reporting() -> None:
    battery = SimulatedBattery(SimConfig(level=0.5, idle=0.001, load=0, period=1000,
                                         plugged=100))
    monitor = ContextMonitor(battery, NetworkSchedule(["home"], [NetworkEvent(50, False,
                                                                              "home")]),
                             report_step=0.01)
    assert monitor.snapshot() == DeviceContext(0.5, False, frozenset({"home"}))
    assert monitor.sample(5) is None                       # 0.5 %: below the step
    changed = monitor.sample(10)                           # 1 %: reported
    assert changed is not None and changed.battery == pytest.approx(0.49)
    assert monitor.sample(11) is None
    late = monitor.sample(50)
    assert late is not None and late.battery == pytest.approx(0.45)
    assert (late.charging, late.networks) == (False, frozenset())
    plugged = monitor.sample(900)                          # charging flips
    assert plugged is not None and plugged.charging is True


def test_no_battery_reports_networks_only() -> None:
    monitor = ContextMonitor(NoBattery(), NetworkSchedule([], [NetworkEvent(1, True, "lab")]))
    assert monitor.snapshot() == DeviceContext(None, None, frozenset())
    assert monitor.sample(1) == DeviceContext(None, None, frozenset({"lab"}))


def test_the_monitor_calls_back_from_its_timer_and_stops_cleanly() -> None:
    async def scenario() -> list[DeviceContext]:
        monitor = ContextMonitor(NoBattery(), NetworkSchedule([], [NetworkEvent(0.001, True, "x")]),
                                 tick_s=0.01)
        got: list[DeviceContext] = []
        changed = asyncio.Event()

        def on_change(ctx: DeviceContext) -> None:
            got.append(ctx)
            changed.set()

        monitor.start(on_change)
        await asyncio.wait_for(changed.wait(), 30)
        monitor.stop()
        monitor.stop()  # idempotent
        return got

    assert asyncio.run(scenario()) == [DeviceContext(None, None, frozenset({"x"}))]


def test_idle_and_metered_are_reported_only_when_the_agent_is_told_how_to_tell() -> None:
    monitor = ContextMonitor(NoBattery(), NetworkSchedule(["home"]))
    assert (monitor.snapshot().idle, monitor.snapshot().metered) == (None, None)
    assert monitor.sample(1000.0) is None


def test_idle_follows_the_agents_own_activations() -> None:
    monitor = ContextMonitor(NoBattery(), NetworkSchedule(), idle_after_s=30)
    assert monitor.snapshot().idle is False  # just started: busy until idle_after_s
    changed = monitor.sample(30.0)
    assert changed is not None and changed.idle is True
    monitor.in_flight = 1
    changed = monitor.sample(31.0)
    assert changed is not None and changed.idle is False
    monitor.in_flight = 0
    assert monitor.sample(60.0) is None  # 29 s after the activation was last seen running
    changed = monitor.sample(61.0)
    assert changed is not None and changed.idle is True


def test_metered_while_every_network_joined_is_metered() -> None:
    schedule = NetworkSchedule(["cell"], [NetworkEvent(10, True, "home"),
                                          NetworkEvent(20, False, "home"),
                                          NetworkEvent(30, False, "cell")])
    monitor = ContextMonitor(NoBattery(), schedule, metered_networks=["cell"])
    assert monitor.snapshot().metered is True
    seen = [(t, c.metered) for t in (10.0, 20.0, 30.0)
            if (c := monitor.sample(t)) is not None]
    assert seen == [(10.0, False), (20.0, True), (30.0, False)]  # no network: not metered
