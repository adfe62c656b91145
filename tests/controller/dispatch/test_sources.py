"""Whether the network-bound versions an activation consumes can reach it now
(``dispatch/sources.py``): a holder in the artifact's network must be healthy, else the
activation is unschedulable, naming the version, the network and where its holders are."""

from __future__ import annotations

from typing import Any

import pytest
from edgewhisk_controller.dispatch.sources import unreachable
from edgewhisk_controller.placement import constraints as c
from edgewhisk_controller.placement.interface import InvokerState


def device(id: str, *networks: str, healthy: bool = True) -> InvokerState:
    return InvokerState(id=id, kinds=frozenset({"python:3"}), memory_mb=512, free_memory_mb=512,
                        in_flight=0, healthy=healthy, networks=frozenset(networks))


def photos(locality: str = "network:corp", copies: tuple[str, ...] = ("tablet-2",)
           ) -> dict[str, Any]:
    return {"name": "field-photos", "version": 1, "kind": "data", "locality": locality,
            "copies": list(copies)}


FLEET = (device("office-1", "corp"),)


@pytest.mark.parametrize(("doc", "holder"), [
    pytest.param(photos(), device("tablet-2", "corp"), id="a holder in its network"),
    pytest.param(photos("cloud"), device("tablet-2", "4g"), id="a cloud version"),
    pytest.param(photos(copies=("tablet-2", "cloud")), device("tablet-2", "4g"),
                 id="a copy in the cloud store"),
    pytest.param(photos("local"), device("tablet-2", "4g"),
                 id="a local one (placement puts it on its holder)"),
])
def test_reachable_versions_leave_placement_alone(doc: dict[str, Any],
                                                  holder: InvokerState) -> None:
    assert unreachable([doc], lambda: (*FLEET, holder)) is None


@pytest.mark.parametrize(("doc", "holder", "where"), [
    pytest.param(photos(), device("tablet-2", "4g"), "tablet-2 (on 4g)",
                 id="its one holder is outside the network"),
    pytest.param(photos(), device("tablet-2", "corp", healthy=False), "tablet-2 (offline)",
                 id="its one holder is offline"),
    pytest.param(photos(copies=("tablet-9",)), device("tablet-2", "corp"), "tablet-9 (offline)",
                 id="its holder is not registered"),
    pytest.param(photos(copies=()), device("tablet-2", "corp"), "no invoker",
                 id="nobody holds it"),
])
def test_a_version_no_holder_can_send_makes_the_activation_wait_for_the_network(
        doc: dict[str, Any], holder: InvokerState, where: str) -> None:
    why = unreachable([doc], lambda: (*FLEET, holder))
    assert why is not None
    assert why.reason == (f"0/2 invokers are available: 2 wait for field-photos@1 "
                          f"(network:corp) to be sent from a holder in corp; held by {where}.")
    assert set(why.plugins) == {c.NETWORK_MEMBERSHIP, c.HEALTH}  # what re-tries it
