"""Each controller of a cluster throttles its part of a namespace's limits
(``dispatch/throttle.py``): the limit divided by the controllers sharing it, at least 1, as
upstream's ``Entitlement.calculateIndividualLimit``; a limit of 0 stays 0."""

from __future__ import annotations

import pytest
from edgewhisk_controller.dispatch.throttle import Throttle, part
from edgewhisk_controller.exceptions import TooManyRequests
from edgewhisk_controller.schema.limits import NamespaceLimits


@pytest.mark.parametrize(("limit", "shares", "expected"), [
    (60, 1, 60),
    (60, 2, 30),
    (61, 2, 30),   # rounded down, as upstream's integer division
    (1, 3, 1),     # never below 1: some controller still takes a request
    (0, 3, 0),     # 0 stays 0: none may
    (10, 0, 10),   # no live controller counted (not joined yet): the whole limit
])
def test_a_controllers_part_of_a_limit(limit: int, shares: int, expected: int) -> None:
    assert part(limit, shares) == expected


def test_the_parts_follow_the_controllers_sharing_them() -> None:
    """Two controllers: the third fire in a window is refused with the part as the limit;
    once the other controller is gone, the whole limit applies to the same window."""
    sharing = {"fire": 2}
    throttle = Throttle(clock=lambda: 0.0)
    throttle.shares = lambda kind: sharing[kind]
    limits = NamespaceLimits(fires_per_minute=4)
    for _ in range(2):
        throttle.fire("ns", limits)
    with pytest.raises(TooManyRequests) as refused:
        throttle.fire("ns", limits)
    sharing["fire"] = 1
    throttle.fire("ns", limits)  # the fourth of 4
    with pytest.raises(TooManyRequests) as again:
        throttle.fire("ns", limits)
    assert refused.value.message == \
        "Too many requests in the last minute (count: 3, allowed: 2)."
    assert again.value.message == \
        "Too many requests in the last minute (count: 5, allowed: 4)."
