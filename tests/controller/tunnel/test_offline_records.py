"""The controller's side of offline work, with a device speaking the protocol by hand: which
copies a device gets (only the actions whose ``policy.offline`` allows it), a device-made record
stored once however often it is sent (each confirmed with ``offline.synced``), and records the
device had no right to make refused (the connection closed, nothing stored)."""

from __future__ import annotations

import uuid

import pytest
from edgewhisk_tunnel import (
    CloseCode,
    OfflineAction,
    OfflineKeep,
    OfflineRecord,
    OfflineSynced,
    Outcome,
)

from controller.api.harness import Controller

from .conftest import Lab, run
from .device import WAIT_S, Device

CODE = "def main(args):\n    return args\n"
OUTCOME = Outcome(status=200, response={"state": "ok"}, logs=("a line",), init_failed=False,
                  init_ms=3, duration_ms=5, container_id="c")


def offline(*devices: str) -> list[dict]:
    return [{"type": "offline", **({"node": list(devices)} if devices else {})}]


async def received(device: Device, kind: type, count: int = 1) -> list:
    """The first ``count`` messages of ``kind`` the device received (waiting for them)."""
    for _ in range(int(WAIT_S / 0.05)):
        found = [m for m in device.received if isinstance(m, kind)]
        if len(found) >= count:
            return found
        await device.sync()
    raise AssertionError(f"no {count} {kind.__name__} in {device.received}")


def test_copies_go_to_allowed_devices_and_records_are_stored_once(controller: Controller
                                                                  ) -> None:
    async def scenario(lab: Lab) -> None:
        await lab.api.action("or-mine", CODE, policies=offline("or-dev"))
        await lab.api.action("or-theirs", CODE, policies=offline("or-other"))
        device = await lab.connected("or-dev")
        keep = (await received(device, OfflineKeep))[0]
        assert "guest/or-mine" in keep.names and "guest/or-theirs" not in keep.names
        copy = next(m for m in device.received if isinstance(m, OfflineAction)
                    and m.name == "guest/or-mine")
        assert copy.spec.code == CODE and copy.annotation["policies"] == offline("or-dev")

        aid = uuid.uuid4().hex
        record = OfflineRecord(aid, "guest/or-mine", "0.0.1", 1_000, 1_500, OUTCOME)
        for _ in range(3):                                   # delivered three times
            await device.send(record)
        assert len(await received(device, OfflineSynced, 3)) == 3
        stored = await lab.api.activation(aid)
        notes = {a["key"]: a["value"] for a in stored["annotations"]}
        assert (notes["invoker"], notes["offline"], stored["start"], stored["end"]) == (
            "or-dev", True, 1_000, 1_500)
        assert stored["response"]["result"] == {"state": "ok"}
        status, listed = await lab.api.call("GET", "activations",
                                            params={"name": "or-mine", "limit": 200})
        assert [r["activationId"] for r in listed].count(aid) == 1

    run(controller, scenario)


@pytest.mark.parametrize("name", [
    pytest.param("guest/or-theirs2", id="another device's action: refused, confirmed, not stored"),
    pytest.param("guest/or-ghost", id="an action that is not: refused, confirmed, not stored"),
])
def test_a_record_the_device_may_not_have_made_is_not_stored(controller: Controller,
                                                             name: str) -> None:
    device_id = f"or-bad-{name.rsplit('-', 1)[1]}"  # one controller per module: new ids

    async def scenario(lab: Lab) -> None:
        await lab.api.action("or-theirs2", CODE, policies=offline("or-other"))
        device = await lab.connected(device_id)
        aid = uuid.uuid4().hex
        await device.send(OfflineRecord(aid, name, "0.0.1", 1, 2, OUTCOME))
        synced = await received(device, OfflineSynced)     # forgotten, not resent forever
        assert synced[0].activation_ids == (aid,) and device.is_open
        status, _ = await lab.api.call("GET", f"activations/{aid}")
        assert status == 404

    run(controller, scenario)


def test_a_record_of_another_namespaces_action_closes_the_connection(controller: Controller
                                                                     ) -> None:
    async def scenario(lab: Lab) -> None:
        device = await lab.connected("or-foreign")
        aid = uuid.uuid4().hex
        await device.send(OfflineRecord(aid, "other/x", "0.0.1", 1, 2, OUTCOME))
        code, why = await device.closed()
        assert code == CloseCode.POLICY_VIOLATION and "not an action of namespace" in why, why
        status, _ = await lab.api.call("GET", f"activations/{aid}")
        assert status == 404

    run(controller, scenario)
