"""ResourcesFit: the memory limit fits the pool (queueing) or its free memory (strict)."""

from __future__ import annotations

import pytest
from edgewhisk_controller.placement import PlacementConfig

from ..cluster import inv, passing

CLUSTER = [inv("small", memory=256, free=256), inv("busy", memory=2048, free=128),
           inv("idle", memory=1024, free=1024)]
CASES = [
    pytest.param(True, 512, ["busy", "idle"], id="queueing: total memory decides"),
    pytest.param(False, 512, ["idle"], id="strict: free memory decides"),
    pytest.param(True, 256, ["small", "busy", "idle"], id="an exact fit fits"),
    pytest.param(False, 4096, [], id="nothing holds more than it has"),
]


@pytest.mark.parametrize("queue, memory, expected", CASES)
def test_resources_fit_filter(queue: bool, memory: int, expected: list[str]) -> None:
    config = PlacementConfig(queue_when_full=queue)
    assert passing("ResourcesFit", CLUSTER, {"memory_mb": memory}, config=config) == expected


def test_resources_fit_is_dynamic_only_when_free_memory_counts() -> None:
    from edgewhisk_controller.placement.plugins.resources_fit import ResourcesFit

    assert not ResourcesFit(PlacementConfig(queue_when_full=True)).dynamic
    assert ResourcesFit(PlacementConfig(queue_when_full=False)).dynamic
