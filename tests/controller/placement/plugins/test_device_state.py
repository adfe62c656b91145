"""DeviceState: one flag of the live context (charging, idle, metered), hard or preferred."""

from __future__ import annotations

import pytest

from ..cluster import engine_of, inv, passing, scores

CLUSTER = [
    inv("plugged", battery=0.4, charging=True, idle=True, metered=False),
    inv("unplugged", battery=0.9, charging=False, idle=False, metered=True),
    inv("unsure", battery=0.5),  # a battery, charging not reported
    inv("mains"),  # no battery, nothing reported: a cloud node
]
CASES = [
    pytest.param("charging", True, ["plugged", "mains"],
                 id="charging: mains powered counts, an unreported battery device does not"),
    pytest.param("charging", False, ["unplugged", "unsure"], id="not charging"),
    pytest.param("idle", True, ["plugged"], id="idle only where the agent says so"),
    pytest.param("idle", False, ["unplugged", "unsure", "mains"], id="not known to be idle"),
    pytest.param("metered", False, ["plugged", "unsure", "mains"],
                 id="unmetered: not reported counts as unmetered"),
    pytest.param("metered", True, ["unplugged"], id="metered"),
]


@pytest.mark.parametrize("state, value, expected", CASES)
def test_device_state_filter(state: str, value: bool, expected: list[str]) -> None:
    assert passing("DeviceState", CLUSTER, {"state": state, "value": value}) == expected


def test_device_state_prefers_the_invokers_that_match() -> None:
    assert scores("DeviceState", CLUSTER, {"state": "charging", "value": True}) == [100, 0, 0, 100]


def test_a_context_report_plugs_a_device_in() -> None:
    engine = engine_of(CLUSTER)
    engine.heartbeat("unplugged", charging=True, metered=False)
    assert passing("DeviceState", [], {"state": "charging", "value": True},
                   engine=engine) == ["plugged", "unplugged", "mains"]
    snapshot = engine.state.snapshot("unplugged")
    assert (snapshot.charging, snapshot.metered, snapshot.idle) == (True, False, False)
    assert engine.state.snapshot("unsure").charging is None
