"""The hub's small duties around artifacts, in process: the placement engine hears round-trip
times through ``observe_rtt`` and sees what a device holds as unversioned names (the keys of
``ArtifactNeed``), while the registry keeps the versioned keys."""

from __future__ import annotations

import asyncio
from typing import Any

from edgewhisk_controller.invokers.registry import InvokerRegistry
from edgewhisk_controller.placement import Engine as PlacementEngine
from edgewhisk_controller.tunnel.hub import TunnelHub
from edgewhisk_controller.tunnel.remote import RemoteInvoker
from edgewhisk_controller.tunnel.tokens import DeviceToken
from edgewhisk_tunnel import Context, Metrics, Register


class Engine(PlacementEngine):
    """The placement engine, recording the heartbeats and round trips it is told."""

    def __init__(self) -> None:
        super().__init__()
        self.rtt: list[tuple[str, float]] = []
        self.heartbeats: list[dict[str, Any]] = []

    def heartbeat(self, id: str, **changes: Any) -> None:
        self.heartbeats.append(dict(changes))
        super().heartbeat(id, **changes)

    def observe_rtt(self, id: str, rtt_ms: float) -> None:
        self.rtt.append((id, rtt_ms))
        super().observe_rtt(id, rtt_ms)


def test_round_trips_reach_observe_rtt_and_cached_keys_become_names() -> None:
    async def main() -> None:
        engine = Engine()
        hub = TunnelHub(None, InvokerRegistry(), engine)  # type: ignore[arg-type]
        register = Register(id="pi", memory_mb=512, kinds=("python:3",), agent_version="t",
                            cached=("guest/u1/glucose@3",))
        device = RemoteInvoker(hub, DeviceToken("pi", "guest", 0, "t"), register, 10.0)
        hub.devices["pi"] = device
        device.online = True
        device.holds = frozenset(register.cached)
        device.rtt.sample(12.0)
        hub.round_trip(device)
        assert engine.rtt == [("pi", 12.0)]
        assert device.state().cached == frozenset({"u1/glucose"})
        device.on_context(Context(cached=("guest/glucose-base@1", "guest/u1/glucose@4")))
        assert engine.heartbeats[-1]["cached"] == frozenset({"glucose-base", "u1/glucose"})
        assert device.status()["cached"] == ["guest/glucose-base@1", "guest/u1/glucose@4"]
        device.liveness.stop()

    asyncio.run(main())


def test_a_device_reporting_a_cold_action_is_no_longer_warm_for_the_real_engine() -> None:
    """The agent's pool dropped its last warm container of an action; its next metrics say so
    (``cold``) and the placement engine stops counting the device as warm for it."""
    async def main() -> tuple[set[int], set[int], set[int]]:
        engine = PlacementEngine()
        hub = TunnelHub(None, InvokerRegistry(), engine)  # type: ignore[arg-type]
        register = Register(id="pi", memory_mb=512, kinds=("python:3",), agent_version="t")
        device = RemoteInvoker(hub, DeviceToken("pi", "guest", 0, "t"), register, 10.0)
        hub.devices["pi"] = device
        device.online = True
        engine.register(device.state())
        for key in ("guest/a@0.0.1", "guest/b@0.0.1"):
            engine.placed("pi", 128, key)
            engine.completed("pi", 128, key, 5.0, True)
        before = set(engine.state.warm["guest/a@0.0.1"])
        device.on_metrics(Metrics(free_memory_mb=512, in_flight=0, cold=("guest/a@0.0.1",)))
        device.liveness.stop()
        return before, set(engine.state.warm["guest/a@0.0.1"]), set(
            engine.state.warm["guest/b@0.0.1"])

    before, after, other = asyncio.run(main())
    assert before == {0} and after == set() and other == {0}
