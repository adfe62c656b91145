"""What a device registers and reports reaches placement: its networks (at registration and
through ``context``), its owner, and draining (no new work)."""

from __future__ import annotations

from edgewhisk_tunnel import Context, Drain

from controller.api.harness import Controller

from .conftest import Lab, run
from .test_sessions import ECHO, _invoker

WHISK_ERROR = 3


def _on(network: str) -> list[dict[str, object]]:
    return [{"type": "data", "network": [network], "strict": True}]


def test_an_activation_needing_a_network_runs_on_the_device_that_joined_it(
        controller: Controller) -> None:
    async def scenario(lab: Lab) -> None:
        device = await lab.connected("pl-a")
        await lab.api.action("pl-net", ECHO, policies=_on("pl-home"))
        record = await lab.api.invoke("pl-net", {}, blocking=True)
        assert record["response"]["statusCode"] == WHISK_ERROR  # nobody is on pl-home yet
        assert "0/" in record["response"]["result"]["error"]
        await device.send(Context(networks=("pl-home",), battery=0.4))
        await device.sync()
        invoked = await lab.api.invoke("pl-net", {"n": 1})
        await device.answer(await device.next_run())
        record = await lab.api.activation(invoked["activationId"])
        assert (record["response"]["result"], _invoker(record)) == ({"n": 1}, "pl-a")
        (status,) = [i for i in await lab.api.invokers() if i["id"] == "pl-a"]
        assert status["networks"] == ["pl-home"] and status["context"]["battery"] == 0.4
        assert status["context_reports"] == 1  # the one context frame it sent

    run(controller, scenario)


def test_registered_networks_and_owner_place_activations(controller: Controller) -> None:
    async def scenario(lab: Lab) -> None:
        device = await lab.connected("pl-b", extra={"networks": ("pl-office",),
                                                    "owner": "plu"})
        await lab.api.action("pl-office", ECHO, policies=_on("pl-office"))
        await lab.api.action("pl-mine", ECHO, node="plu_device")
        for name in ("pl-office", "pl-mine"):
            invoked = await lab.api.invoke(name, {"name": name})
            await device.answer(await device.next_run())
            record = await lab.api.activation(invoked["activationId"])
            assert (record["response"]["result"], _invoker(record)) == ({"name": name}, "pl-b")

    run(controller, scenario)


def test_a_draining_device_gets_no_new_work(controller: Controller) -> None:
    async def scenario(lab: Lab) -> None:
        device = await lab.connected("pl-c")
        await lab.api.action("pl-drain", ECHO, node="pl-c")
        await device.send(Drain("battery low"))
        await device.sync()
        record = await lab.api.invoke("pl-drain", {}, blocking=True)
        assert record["response"]["statusCode"] == WHISK_ERROR
        assert device.runs.empty()
        (status,) = [i for i in await lab.api.invokers() if i["id"] == "pl-c"]
        assert (status["draining"], status["healthy"]) == (True, False)

    run(controller, scenario)
