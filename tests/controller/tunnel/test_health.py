"""An edge invoker that goes silent goes offline: its in-flight activations are never lost
(idempotent ones run elsewhere, exactly once; the others are recorded as whisk internal errors
naming it), late results are ignored; a device back within the window keeps its work; a
revoked token closes the live connection at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from edgewhisk_tunnel import CloseCode

from controller.api.harness import Controller

from .conftest import HEARTBEAT_TIMEOUT_S, Lab, run
from .test_sessions import ECHO, _invoker

WHISK_ERROR = 3
COUNTING = """
def main(args):
    with open(args["file"], "a") as f:
        f.write("ran\\n")
    return {"ran": True}
"""


def _lost(id: str) -> str:
    return f"The invoker {id!r} was lost (no heartbeat for {HEARTBEAT_TIMEOUT_S:g} s)"


def test_a_silent_invoker_goes_offline_and_its_activation_is_a_whisk_error_naming_it(
        controller: Controller) -> None:
    async def scenario(lab: Lab) -> None:
        device = await lab.connected("hl-a")
        await lab.api.action("hl-echo-a", ECHO, node="hl-a")
        invoked = await lab.api.invoke("hl-echo-a", {})
        run_ = await device.next_run()
        device.echo = False  # silence: no heartbeats, no echoes, no result
        code, reason = await device.closed()
        assert code == CloseCode.HEARTBEAT_TIMEOUT and "offline" in reason
        record = await lab.api.activation(invoked["activationId"])
        assert record["response"]["statusCode"] == WHISK_ERROR
        assert _lost("hl-a") in record["response"]["result"]["error"]
        assert _invoker(record) == "hl-a"
        (status,) = [i for i in await lab.api.invokers() if i["id"] == "hl-a"]
        assert (status["online"], status["connected"]) == (False, False)

        # the device comes back and sends the result it had: ignored, not foreign
        back = await lab.device("hl-a", device.token).connect()
        await back.answer(run_, {"late": True})
        await back.sync()
        assert back.is_open
        again = await lab.api.activation(invoked["activationId"])
        assert again["response"] == record["response"]

    run(controller, scenario)


def test_an_idempotent_activation_of_a_lost_invoker_runs_elsewhere_exactly_once(
        controller: Controller, data_dir: Path) -> None:
    # The one folder outside its own that a sandboxed action of "guest" may write: its
    # namespace's --artifacts folder under the controller's data.
    ran = data_dir.resolve() / "artifacts" / "guest" / "ran.txt"

    async def scenario(lab: Lab) -> None:
        device = await lab.connected("hl-b")
        await lab.api.action("hl-count", COUNTING, node="hl-b", strict=False, idempotent=True)
        invoked = await lab.api.invoke("hl-count", {"file": str(ran)})
        run_ = await device.next_run()
        device.echo = False
        await device.closed()
        record = await lab.api.activation(invoked["activationId"])
        assert record["response"]["result"] == {"ran": True}, record
        assert _invoker(record) == "local0"
        back = await lab.device("hl-b", device.token).connect()
        await back.answer(run_, {"late": True})  # too late: ignored
        await back.sync()
        again = await lab.api.activation(invoked["activationId"])
        assert again["response"] == record["response"]

    run(controller, scenario)
    assert ran.read_text() == "ran\n"


def test_a_device_back_within_the_window_delivers_its_result(controller: Controller) -> None:
    async def scenario(lab: Lab) -> None:
        device = await lab.connected("hl-c")
        await lab.api.action("hl-echo-c", ECHO, node="hl-c")
        invoked = await lab.api.invoke("hl-echo-c", {"a": 1})
        run_ = await device.next_run()
        await device.close()  # the link is cut...
        back = lab.device("hl-c", device.token)  # ...and restored, still running it
        await back.connect(holding=(run_.activation_id,))
        await back.answer(run_)
        record = await lab.api.activation(invoked["activationId"])
        assert record["response"]["result"] == {"a": 1}
        assert _invoker(record) == "hl-c"

    run(controller, scenario)


def test_a_device_back_without_its_activation_has_it_recorded_as_lost(
        controller: Controller) -> None:
    async def scenario(lab: Lab) -> None:
        device = await lab.connected("hl-d")
        await lab.api.action("hl-echo-d", ECHO, node="hl-d")
        invoked = await lab.api.invoke("hl-echo-d", {"b": 2})
        run_ = await device.next_run()
        await device.close()
        back = await lab.device("hl-d", device.token).connect()  # holds nothing
        record = await lab.api.activation(invoked["activationId"])
        assert record["response"]["statusCode"] == WHISK_ERROR
        assert "reconnected without the activation" in record["response"]["result"]["error"]
        assert back.runs.empty() and run_.activation_id == invoked["activationId"]

    run(controller, scenario)


def test_revoking_a_token_closes_the_live_connection_at_once(controller: Controller) -> None:
    async def scenario(lab: Lab) -> None:
        device = await lab.connected("hl-e")
        await lab.api.action("hl-echo-e", ECHO, node="hl-e")
        invoked = await lab.api.invoke("hl-echo-e", {})
        await device.next_run()
        status, body = await lab.api.call("DELETE", "invokers/tokens/hl-e")
        assert status == 200, body
        code, reason = await device.closed(timeout_s=HEARTBEAT_TIMEOUT_S / 2)
        assert code == CloseCode.TOKEN_REVOKED and "revoked" in reason
        record = await lab.api.activation(invoked["activationId"])
        assert record["response"]["statusCode"] == WHISK_ERROR
        assert "token was revoked" in record["response"]["result"]["error"]
        assert "hl-e" not in [i["id"] for i in await lab.api.invokers()]

    run(controller, scenario)


def test_a_disconnected_invoker_is_unhealthy_until_it_is_back(controller: Controller) -> None:
    async def scenario(lab: Lab) -> None:
        device = await lab.connected("hl-f")
        await device.close()
        connected = True
        while connected:  # until the controller saw the close
            (status,) = [i for i in await lab.api.invokers() if i["id"] == "hl-f"]
            connected = status["connected"]
            await asyncio.sleep(0.02)
        assert status["healthy"] is False  # no new work (offline too once the window is over)
        await lab.device("hl-f", device.token).connect()
        (status,) = [i for i in await lab.api.invokers() if i["id"] == "hl-f"]
        assert (status["online"], status["connected"], status["healthy"]) == (True,) * 3

    run(controller, scenario)
