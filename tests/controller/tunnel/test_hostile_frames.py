"""Hostile frames through the real tunnel, one row per defect of issue 16: a device's frame
that is not standard JSON is refused when it arrives (close 1002 with a reason naming it), so
it can never reach the invokers listing, a placement state or an activation record; the
device's own connection ends, the bystander's goes on. Byte strings are written by hand: no
encoder of ours produces them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from edgewhisk_tunnel import CloseCode

from controller.api.harness import Controller

from .conftest import Lab, run
from .device import Device

ECHO = "def main(args):\n    return args\n"
Send = Callable[[Device, str], Awaitable[None]]


def _text(frame: str) -> Send:
    async def send(device: Device, activation_id: str) -> None:
        await device.send_text(frame)
    return send


def _result(response: str) -> Send:
    """A result frame for the activation given to the device, its response written raw."""
    async def send(device: Device, activation_id: str) -> None:
        outcome = (f'{{"status":200,"response":{response},"logs":[],"init_failed":false,'
                   '"init_ms":null,"duration_ms":1,"container_id":"c"}')
        await device.send_text(
            f'{{"type":"result","activation_id":"{activation_id}","outcome":{outcome}}}')
    return send


FRAMES: list[tuple[str, Send, str]] = [
    ("a metric of 1e999 closes the connection with 1002, not an Infinity later",
     _text('{"type":"metrics","values":{"cpu":1e999}}'), "out of range"),
    ("a lone surrogate in a device's networks closes the connection with 1002",
     _text('{"type":"context","networks":["\\ud800"]}'), "lone surrogate"),
    ("a 400-digit metric closes the connection with 1002",
     _text('{"type":"metrics","values":{"cpu":' + "9" * 400 + "}}"), "more than 309 digits"),
    ("a result holding a lone surrogate closes with 1002 and is not recorded",
     _result('{"x":"\\udfff"}'), "lone surrogate"),
]


@pytest.mark.parametrize(("case", "send", "reason"), FRAMES, ids=[c[0] for c in FRAMES])
def test_a_frame_that_is_not_standard_json_closes_only_its_connection_naming_why(
        controller: Controller, case: str, send: Send, reason: str) -> None:
    n = [c[0] for c in FRAMES].index(case)

    async def scenario(lab: Lab) -> None:
        bystander = await lab.connected(f"hf-by{n}")
        device = await lab.connected(f"hf-bad{n}")
        await lab.api.action(f"hf-echo{n}", ECHO, node=f"hf-bad{n}")
        invoked = await lab.api.invoke(f"hf-echo{n}", {"x": 1})
        given = await device.next_run()
        await send(device, given.activation_id)
        code, why = await device.closed()
        assert (code, reason in why) == (CloseCode.PROTOCOL_ERROR, True), why
        await bystander.sync()  # still served
        assert bystander.is_open
        status, record = await lab.api.call("GET", f"activations/{invoked['activationId']}")
        assert status == 404 or "\\ud" not in str(record), record  # never the refused result
        listed = [i for i in await lab.api.invokers() if i["id"] == f"hf-bad{n}"]
        assert all("\ud800" not in str(i) and "inf" not in str(i).lower() for i in listed)

    run(controller, scenario)
