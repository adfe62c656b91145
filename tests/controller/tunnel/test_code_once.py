"""Protocol 2: a ``run`` carries its action's code only the first time that code goes out on
a connection (``Run.code_omitted`` after that); a device without it answers ``code.missing``
and gets the run again, once, with the code; a version-1 device gets the code every time; a
``code.missing`` about an activation or an action the device was not given closes its
connection and changes nothing else. A real controller, devices speaking the protocol by
hand over real WebSockets. And a ``quiet`` heartbeat (version 2) is not answered, yet keeps
the device online."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from edgewhisk_tunnel import CODES_KEPT, CloseCode, CodeMissing, Heartbeat, Run

from controller.api.harness import Controller, started

from .conftest import HEARTBEAT_TIMEOUT_S, Lab, run
from .device import Device
from .test_sessions import ECHO

WHISK_ERROR = 3  # the record's statusCode of a whisk internal error


@pytest.fixture(scope="module")
def controller(data_dir: Path) -> Iterator[Controller]:
    """The package's controller, with room for more than ``CODES_KEPT`` invokes a minute
    (the default allows 120)."""
    yield from started(data_dir, "--heartbeat-timeout", str(HEARTBEAT_TIMEOUT_S),
                       "--invocations-per-minute", str(4 * CODES_KEPT))


async def invoked(lab: Lab, device: Device, action: str, n: int) -> tuple[str, Run]:
    """Invoke ``action`` (not blocking); its activation id and the run the device got."""
    answer = await lab.api.invoke(action, {"n": n})
    got = await device.next_run()
    assert got.activation_id == answer["activationId"]
    return got.activation_id, got


def test_the_code_goes_once_per_connection(controller: Controller) -> None:
    async def scenario(lab: Lab) -> None:
        device = await lab.connected("co-a")
        assert device.registered is not None and device.registered.protocol == 2
        await lab.api.action("co-echo", ECHO, node="co-a")
        runs = []
        for n in range(3):
            _, got = await invoked(lab, device, "co-echo", n)
            runs.append(got)
            await device.answer(got)
        assert (runs[0].spec.code, runs[0].code_omitted) == (ECHO, False)
        assert [(r.spec.code, r.code_omitted) for r in runs[1:]] == [(None, True)] * 2
        assert len({r.spec.key for r in runs}) == 1
        await device.close()
        again = await lab.device("co-a", device.token).connect()  # the code goes again
        _, got = await invoked(lab, again, "co-echo", 9)
        assert (got.spec.code, got.code_omitted) == (ECHO, False)
        await again.answer(got)

    run(controller, scenario)


def test_a_connection_remembers_the_code_of_the_last_keys_only(controller: Controller) -> None:
    """A spec key holds a digest of the action's ``init`` parameters, which an invoke may set:
    one key per activation here. The controller remembers the keys whose code went out on a
    connection up to ``CODES_KEPT``, the least recently used forgotten first (it remembered
    every one, for as long as the connection lasted): the oldest key's code goes again, a
    recent one's is still omitted."""
    async def scenario(lab: Lab) -> None:
        device = await lab.connected("co-e")
        await lab.api.action("co-init", ECHO, node="co-e",
                             parameters=[{"key": "MODE", "value": "x", "init": True}])
        for n in range(CODES_KEPT + 1):  # each with its code: a key not sent before
            _, got = await invoked_with(lab, device, "co-init", {"MODE": f"m{n}"})
            assert not got.code_omitted
            await device.answer(got)
        _, recent = await invoked_with(lab, device, "co-init", {"MODE": f"m{CODES_KEPT}"})
        assert recent.code_omitted
        await device.answer(recent)
        _, oldest = await invoked_with(lab, device, "co-init", {"MODE": "m0"})
        assert (oldest.spec.code, oldest.code_omitted) == (ECHO, False)
        await device.answer(oldest)

    run(controller, scenario)


async def invoked_with(lab: Lab, device: Device, action: str,
                       params: dict[str, str]) -> tuple[str, Run]:
    """Invoke ``action`` with ``params`` (not blocking); its activation id and the run."""
    answer = await lab.api.invoke(action, params)
    got = await device.next_run()
    assert got.activation_id == answer["activationId"]
    return got.activation_id, got


def test_a_device_without_the_code_gets_the_run_again_once(controller: Controller) -> None:
    async def scenario(lab: Lab) -> None:
        device = await lab.connected("co-b")
        await lab.api.action("co-missing", ECHO, node="co-b")
        first_id, first = await invoked(lab, device, "co-missing", 1)
        await device.answer(first)
        aid, omitted = await invoked(lab, device, "co-missing", 2)
        assert omitted.code_omitted
        await device.send(CodeMissing(aid, omitted.spec.key))
        resent = await device.next_run()
        assert (resent.activation_id, resent.spec.code, resent.code_omitted) == (aid, ECHO, False)
        await device.answer(resent)
        record = await lab.api.activation(aid)
        assert record["response"]["result"] == {"n": 2}
        # refused again after the resend: lost, with the reason; nothing ran
        aid, omitted = await invoked(lab, device, "co-missing", 3)
        await device.send(CodeMissing(aid, omitted.spec.key))
        resent = await device.next_run()
        await device.send(CodeMissing(aid, resent.spec.key))
        record = await lab.api.activation(aid)
        assert record["response"]["statusCode"] == WHISK_ERROR
        assert "it does not have the action's code" in record["response"]["result"]["error"]
        assert device.is_open

    run(controller, scenario)


def test_a_version_1_device_gets_the_code_with_every_run(controller: Controller) -> None:
    async def scenario(lab: Lab) -> None:
        device = await lab.connected("co-v1", extra={"protocol": 1})
        assert device.registered is not None and device.registered.protocol == 1
        await lab.api.action("co-v1", ECHO, node="co-v1")
        for n in range(3):
            _, got = await invoked(lab, device, "co-v1", n)
            assert (got.spec.code, got.code_omitted) == (ECHO, False)
            await device.answer(got)
        (status,) = [i for i in await lab.api.invokers() if i["id"] == "co-v1"]
        assert status["protocol"] == 1

    run(controller, scenario)


def test_a_code_missing_about_what_the_device_was_not_given_closes_it(
        controller: Controller) -> None:
    async def scenario(lab: Lab) -> None:
        stranger = await lab.connected("co-c")
        await stranger.send(CodeMissing("never-given", "guest/x@0.0.1#d"))
        code, reason = await stranger.closed()
        assert code == CloseCode.POLICY_VIOLATION
        assert "code.missing for activation 'never-given'" in reason

        device = await lab.connected("co-d")
        await lab.api.action("co-key", ECHO, node="co-d")
        aid, got = await invoked(lab, device, "co-key", 1)
        await device.send(CodeMissing(aid, "guest/another@0.0.1#d"))
        code, reason = await device.closed()
        assert code == CloseCode.POLICY_VIOLATION
        assert "code.missing of 'guest/another@0.0.1#d'" in reason

    run(controller, scenario)


def test_quiet_heartbeats_keep_a_device_online_unanswered(controller: Controller) -> None:
    """Protocol 2: a ``quiet`` heartbeat gets no answer and proves the device alive all the
    same (past the controller's offline timeout); a plain one is answered as before."""
    async def scenario(lab: Lab) -> None:
        device = await lab.connected("co-q", beat_s=0)
        for seq in range(1, 2 + int(HEARTBEAT_TIMEOUT_S / 0.2)):  # beyond the timeout
            await device.send(Heartbeat(seq=seq, sent_ms=seq, quiet=True))
            await asyncio.sleep(0.2)
        await device.sync()  # a plain beat: answered, after everything before it was read
        answers = [m for m in device.received
                   if isinstance(m, Heartbeat) and m.echo_ms is not None]
        assert len(answers) == 1 and answers[0].seq > 1000  # the sync's (its own numbers)
        (status,) = [i for i in await lab.api.invokers() if i["id"] == "co-q"]
        assert (status["online"], status["connected"], device.is_open) == (True, True, True)

    run(controller, scenario)
