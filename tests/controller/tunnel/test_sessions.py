"""A device through the tunnel: register, run, results accepted once, round-trip time; every
bad frame closes that connection (with a close code and a reason) and nobody else's."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from edgewhisk_tunnel import (
    MAX_FRAME_BYTES,
    CloseCode,
    Heartbeat,
    Logs,
    Outcome,
    Register,
    Result,
    Run,
    RunSpec,
    encode,
)

from controller.api.harness import Controller

from .conftest import HEARTBEAT_TIMEOUT_S, Lab, run
from .device import Device

ECHO = "def main(args):\n    return args\n"


def _invoker(record: dict[str, object]) -> object:
    notes = record["annotations"]
    assert isinstance(notes, list)
    return next(a["value"] for a in notes if a["key"] == "invoker")


def test_a_registered_device_runs_an_activation_placed_on_it(controller: Controller) -> None:
    async def scenario(lab: Lab) -> None:
        device = await lab.connected("ses-a")
        assert device.registered is not None
        assert device.registered.offline_after_s == HEARTBEAT_TIMEOUT_S
        await lab.api.action("ses-echo", ECHO, node="ses-a")
        invoked = await lab.api.invoke("ses-echo", {"x": 1})
        run_ = await device.next_run()
        assert run_.activation_id == invoked["activationId"]
        assert run_.value == {"x": 1} and run_.spec.kind == "python:3"
        assert run_.fields["namespace"] == "guest" and run_.spec.code == ECHO
        await device.send(Logs(run_.activation_id, ("first",)))
        await device.answer(run_, {"y": 2}, logs=("second",))
        record = await lab.api.activation(run_.activation_id)
        assert record["response"]["result"] == {"y": 2}
        assert record["logs"] == ["first", "second"]
        assert _invoker(record) == "ses-a"

    run(controller, scenario)


def test_a_blocking_invoke_answers_with_the_devices_result(controller: Controller) -> None:
    async def scenario(lab: Lab) -> None:
        device = await lab.connected("ses-b")
        await lab.api.action("ses-echo-b", ECHO, node="ses-b")

        async def answer() -> None:
            await device.answer(await device.next_run())

        answering = asyncio.create_task(answer())
        record = await lab.api.invoke("ses-echo-b", {"z": 3}, blocking=True)
        await answering
        assert record["response"]["result"] == {"z": 3}

    run(controller, scenario)


def test_a_result_is_accepted_once_and_a_duplicate_ignored(controller: Controller) -> None:
    async def scenario(lab: Lab) -> None:
        device = await lab.connected("ses-c")
        await lab.api.action("ses-echo-c", ECHO, node="ses-c")
        invoked = await lab.api.invoke("ses-echo-c", {})
        run_ = await device.next_run()
        await device.answer(run_, {"n": 1})
        await device.answer(run_, {"n": 2})
        await device.send(Logs(run_.activation_id, ("late",)))
        await device.sync()
        assert device.is_open
        record = await lab.api.activation(invoked["activationId"])
        assert record["response"]["result"] == {"n": 1}
        assert "late" not in record["logs"]

    run(controller, scenario)


def test_the_round_trip_time_is_measured_and_reported(controller: Controller) -> None:
    async def scenario(lab: Lab) -> None:
        device = await lab.connected("ses-d")
        for _ in range(3):
            await device.sync()
        deadline = asyncio.get_running_loop().time() + 10
        while True:  # the controller's own heartbeats come every heartbeat_s
            mine = [i for i in await lab.api.invokers() if i["id"] == "ses-d"]
            if mine and mine[0]["rtt_ms"] is not None:
                break
            assert asyncio.get_running_loop().time() < deadline, mine
            await asyncio.sleep(0.1)
        assert mine[0]["rtt_ms"] >= 0
        assert (mine[0]["online"], mine[0]["connected"], mine[0]["healthy"]) == (True,) * 3
        assert device.rtt_samples  # the controller echoes the device's heartbeats too

    run(controller, scenario)


def test_a_foreign_result_closes_that_connection_only(controller: Controller) -> None:
    async def scenario(lab: Lab) -> None:
        rogue = await lab.connected("ses-e", memory_mb=512)
        honest = await lab.connected("ses-f")
        await lab.api.action("ses-echo-f", ECHO, node="ses-f")
        invoked = await lab.api.invoke("ses-echo-f", {"k": "v"})
        run_ = await honest.next_run()
        await rogue.answer(run_, {"stolen": True})  # an activation given to another device
        code, reason = await rogue.closed()
        assert code == CloseCode.POLICY_VIOLATION
        assert run_.activation_id in reason and "was not given" in reason
        await honest.answer(run_)
        record = await lab.api.activation(invoked["activationId"])
        assert record["response"]["result"] == {"k": "v"}
        assert honest.is_open

    run(controller, scenario)


def _spec() -> RunSpec:
    return RunSpec(key="k", kind="python:3", code="", binary=False, main="main", image=None,
                   env={}, memory_mb=128, timeout_ms=1000, concurrency=1)


Send = Callable[[Device], Awaitable[None]]


async def _nothing(device: Device) -> None:
    pass


def _text(text: str) -> Send:
    async def send(device: Device) -> None:
        try:
            await device.send_text(text)
        except ConnectionError:
            pass  # the controller closed it while the frame was still going out
    return send


def _bytes(data: bytes) -> Send:
    async def send(device: Device) -> None:
        await device.send_bytes(data)
    return send


def _register_as(id: str) -> Send:
    async def send(device: Device) -> None:
        await device.send(device.register_message(id=id))
    return send


def _register_namespace(ns: str) -> Send:
    async def send(device: Device) -> None:
        await device.send(device.register_message(namespace=ns))
    return send


def _register_twice(device: Device) -> Awaitable[None]:
    return device.send(device.register_message())


def _result_for(activation_id: str) -> Send:
    async def send(device: Device) -> None:
        await device.send(Result(activation_id, outcome=Outcome(
            status=200, response={}, logs=(), init_failed=False, init_ms=None, duration_ms=1,
            container_id="c")))
    return send


BAD_FRAMES: list[tuple[str, bool, Send, CloseCode, str]] = [
    ("malformed JSON", True, _text("{not json"), CloseCode.PROTOCOL_ERROR, "malformed JSON"),
    ("an unknown message type", True, _text('{"type":"shell","cmd":"rm"}'),
     CloseCode.PROTOCOL_ERROR, "unknown message type 'shell'"),
    ("an extra field", True, _text('{"type":"heartbeat","seq":1,"sent_ms":1,"x":0}'),
     CloseCode.PROTOCOL_ERROR, "unexpected field 'x'"),
    ("a wrongly typed field", True, _text('{"type":"context","battery":"low"}'),
     CloseCode.PROTOCOL_ERROR, "context.battery must be a number"),
    ("a binary frame", True, _bytes(b"\x00\x01"), CloseCode.UNSUPPORTED_DATA, "binary"),
    ("an oversized frame", True, _text(" " * (MAX_FRAME_BYTES + 1)),
     CloseCode.MESSAGE_TOO_BIG, f"a frame over the limit of {MAX_FRAME_BYTES} bytes"),
    ("a run sent by a device", True,
     lambda d: d.send(Run("a1", _spec(), {}, {})), CloseCode.PROTOCOL_ERROR,
     "run is sent by the controller only"),
    ("a second register", True, _register_twice, CloseCode.PROTOCOL_ERROR,
     "registered already"),
    ("a result for an activation never given", True, _result_for("nosuchactivation"),
     CloseCode.POLICY_VIOLATION, "'nosuchactivation', which invoker"),
    ("logs for an activation never given", True,
     lambda d: d.send(Logs("nosuchactivation", ("x",))), CloseCode.POLICY_VIOLATION,
     "was not given"),
    ("a heartbeat with a leading zero (not JSON, not the fast path's)", True,
     _text('{"type":"heartbeat","seq":01,"sent_ms":2,"echo_ms":null}'),
     CloseCode.PROTOCOL_ERROR, "malformed JSON"),
    ("a heartbeat with a negative seq", True,
     _text('{"type":"heartbeat","seq":-1,"sent_ms":2,"echo_ms":null}'),
     CloseCode.PROTOCOL_ERROR, "heartbeat.seq must not be negative"),
    ("a heartbeat before register", False,
     lambda d: d.send(Heartbeat(seq=1, sent_ms=1)), CloseCode.PROTOCOL_ERROR,
     "expected register first, got heartbeat"),
    ("a register for another invoker id", False, _register_as("someone-else"),
     CloseCode.POLICY_VIOLATION, "but the token is for"),
    ("a register for another namespace", False, _register_namespace("other"),
     CloseCode.POLICY_VIOLATION, "register for namespace 'other'"),
    ("an invalid register", False,
     _text(encode(Register(id="x", memory_mb=1, kinds=(), agent_version="t"))
           .replace('"memory_mb":1', '"memory_mb":-1')),
     CloseCode.PROTOCOL_ERROR, "register.memory_mb must not be negative"),
    ("no register at all", False, _nothing, CloseCode.PROTOCOL_ERROR, "no register within"),
]


@pytest.mark.parametrize(("case", "registered", "send", "code", "reason"), BAD_FRAMES,
                         ids=[c[0] for c in BAD_FRAMES])
def test_a_bad_frame_closes_that_connection_with_a_reason_and_no_other(
        controller: Controller, case: str, registered: bool, send: Send, code: CloseCode,
        reason: str) -> None:
    n = [c[0] for c in BAD_FRAMES].index(case)

    async def scenario(lab: Lab) -> None:
        bystander = await lab.connected(f"ses-by{n}")
        device = await lab.connected(f"ses-bad{n}", register=registered)
        await send(device)
        got_code, got_reason = await device.closed()
        assert got_code == code
        assert reason in got_reason
        await bystander.sync()  # still served
        assert bystander.is_open

    run(controller, scenario)


def test_a_heartbeat_in_any_valid_text_is_answered_with_the_same_frame(
        controller: Controller) -> None:
    """The controller's fast path (``edgewhisk_tunnel.beats``) takes our encoder's text;
    another spelling of the same heartbeat is decoded the general way and answered alike."""
    async def scenario(lab: Lab) -> None:
        device = await lab.connected("ses-beat-text")
        device.echo = False  # only the beats sent here
        await device.send_text('{"seq": 7, "type": "heartbeat", "sent_ms": 5, "echo_ms": null}')
        await device.send(Heartbeat(seq=8, sent_ms=6))
        await device.sync()
        answers = {m.seq: m.echo_ms for m in device.received
                   if isinstance(m, Heartbeat) and m.echo_ms is not None and m.seq in (7, 8)}
        assert answers == {7: 5, 8: 6}
        assert device.is_open

    run(controller, scenario)


def test_a_newer_connection_of_the_same_invoker_replaces_the_older(
        controller: Controller) -> None:
    async def scenario(lab: Lab) -> None:
        token = await lab.api.token("ses-g")
        old = await lab.device("ses-g", token).connect()
        new = await lab.device("ses-g", token).connect()
        code, reason = await old.closed()
        assert code == CloseCode.REPLACED and "newer connection" in reason
        await new.sync()
        assert new.is_open

    run(controller, scenario)
