"""How long a remote invoker waits for a result, in process: past the action's time limit
plus ``RESULT_GRACE_S`` the activation is lost (``InvokerLost``), a result before that ends
it, a caller that gives up abandons it; a result arriving after either is ignored, not
foreign. The connection is ``Frames``: it keeps what the invoker sends (the device's side is
tested against real sockets in ``test_sessions.py``)."""

from __future__ import annotations

import asyncio

import pytest
from edgewhisk_controller.invokers.registry import InvokerRegistry
from edgewhisk_controller.placement import Engine
from edgewhisk_controller.tunnel import patience
from edgewhisk_controller.tunnel.exceptions import InvokerLost, NotDeliverable
from edgewhisk_controller.tunnel.hub import TunnelHub
from edgewhisk_controller.tunnel.recent import Recent
from edgewhisk_controller.tunnel.remote import RemoteInvoker
from edgewhisk_controller.tunnel.tokens import DeviceToken
from edgewhisk_runtime.containers import ActionSpec
from edgewhisk_tunnel import (
    CODES_KEPT,
    MAX_FRAME_BYTES,
    CloseCode,
    Outcome,
    Register,
    Result,
    Run,
    decode,
)

SPEC = ActionSpec("guest/a@0.0.1", "python:3", "code", False, "main", None, {}, 128, 1, 1)
OUTCOME = Outcome(status=200, response={"ok": True}, logs=(), init_failed=False,
                  init_ms=None, duration_ms=1, container_id="c")


class Frames:
    """The device's connection as the invoker uses it: what was sent, in order."""

    transfers = None
    protocol = 2

    def __init__(self) -> None:
        self.sent: list[str | bytes] = []
        self.code_keys: Recent[None] = Recent(CODES_KEPT)

    async def send_frame(self, frame: str | bytes) -> bool:
        self.sent.append(frame)
        return True

    async def close(self, code: CloseCode, reason: str) -> None:
        pass

    def close_soon(self, code: CloseCode, reason: str) -> None:
        pass


def _device() -> tuple[RemoteInvoker, Frames]:
    hub = TunnelHub(None, InvokerRegistry(), Engine())  # type: ignore[arg-type]
    register = Register(id="pi", memory_mb=512, kinds=("python:3",), agent_version="t")
    device = RemoteInvoker(hub, DeviceToken("pi", "guest", 0, "t"), register, 10.0)
    device.online, connection = True, Frames()
    device.session = connection
    return device, connection


def _run(device: RemoteInvoker, activation_id: str) -> asyncio.Task[object]:
    return asyncio.ensure_future(device.run(SPEC, {}, {"activation_id": activation_id}))


@pytest.fixture
def short_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(patience, "RESULT_GRACE_S", 0.05)


def test_no_result_within_the_patience_loses_the_activation(short_grace: None) -> None:
    async def main() -> None:
        device, connection = _device()
        with pytest.raises(InvokerLost, match=r"no result within 0\.051 s"):
            await _run(device, "a1")
        assert device.pending == {} and device.finished["a1"] == "lost"
        assert isinstance(decode(connection.sent[0]), Run)
        device.on_result(Result("a1", OUTCOME))  # late: ignored, not a foreign frame
        device.liveness.stop()

    asyncio.run(main())


def test_a_result_in_time_ends_the_activation_and_stays_its_end(
        short_grace: None) -> None:
    async def main() -> None:
        device, _ = _device()
        task = _run(device, "a2")
        await asyncio.sleep(0)
        device.on_result(Result("a2", OUTCOME))
        outcome = await task
        assert outcome.response == {"ok": True}  # type: ignore[attr-defined]
        await asyncio.sleep(0.1)  # past the patience: still done, not lost
        assert device.finished["a2"] == "done" and device.pending == {}
        device.liveness.stop()

    asyncio.run(main())


def test_a_caller_that_gives_up_abandons_the_activation() -> None:
    async def main() -> None:
        device, _ = _device()
        task = _run(device, "a3")
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert device.pending == {} and device.finished["a3"] == "abandoned"
        device.on_result(Result("a3", OUTCOME))  # late: ignored
        assert device.finished["a3"] == "abandoned"
        device.liveness.stop()

    asyncio.run(main())


@pytest.mark.parametrize("connected", [True, False], ids=["connected", "disconnected"])
def test_a_run_over_the_frame_limit_is_refused_before_it_is_pending(connected: bool) -> None:
    """``NotDeliverable`` at once, connected or not: nothing sent, nothing pending, and no
    end remembered for an activation the device never had."""
    async def main() -> None:
        device, connection = _device()
        if not connected:
            device.session = None
        big = {"payload": "x" * MAX_FRAME_BYTES}
        with pytest.raises(NotDeliverable, match="cannot be sent to invoker 'pi'"):
            await device.run(SPEC, big, {"activation_id": "a4"})
        assert device.pending == {} and "a4" not in device.finished
        assert connection.sent == [] and not connection.code_keys
        device.liveness.stop()

    asyncio.run(main())


def test_a_reclaim_asked_after_an_earlier_ones_window_has_a_window_of_its_own() -> None:
    """A result waited for after an earlier wait's window ended (a cluster's takeover long
    after the start-up recovery) is lost once its own window is over, the device not back:
    the hub's one timer, started by the first reclaim and never again, left it waiting for
    ever (a takeover's wait for the device or a holder's answer then never ended, and the
    activation was never recorded)."""
    async def main() -> None:
        hub = TunnelHub(None, InvokerRegistry(), Engine(),  # type: ignore[arg-type]
                        offline_after_s=0.05, reconnect_cap_s=0.05)
        for activation_id in ("a1", "a2"):
            with pytest.raises(InvokerLost, match=r"did not reconnect within 0\.1 s"):
                await asyncio.wait_for(hub.reclaim("pi", activation_id, 128, 0), 10)
        assert hub.reclaims == {}

    asyncio.run(main())
