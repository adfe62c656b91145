"""Reconnect delays: exponential ceilings, full jitter within them, capped, reset."""

from __future__ import annotations

import random

import pytest
from edgewhisk_invoker.backoff import Backoff


@pytest.mark.parametrize(("base", "cap", "ceilings"), [
    pytest.param(0.5, 30.0, [0.5, 1, 2, 4, 8, 16, 30, 30, 30], id="doubles-up-to-the-cap"),
    pytest.param(1.0, 1.0, [1, 1, 1], id="a-cap-equal-to-the-base-stays-flat"),
    pytest.param(0.1, 0.3, [0.1, 0.2, 0.3, 0.3], id="the-cap-cuts-a-doubling-short"),
])
def test_the_ceiling_doubles_per_attempt_up_to_the_cap(base: float, cap: float,
                                                      ceilings: list[float]) -> None:
    backoff = Backoff(base, cap)
    assert [backoff.ceiling(i) for i in range(len(ceilings))] == pytest.approx(ceilings)


def test_every_delay_lies_within_zero_and_its_ceiling() -> None:
    backoff = Backoff(0.5, 30.0, random.Random(7))
    for attempt in range(200):
        delay = backoff.next_delay()
        assert 0.0 <= delay <= backoff.ceiling(attempt)
    assert backoff.attempt == 200


def test_jitter_spreads_delays_over_the_whole_window() -> None:
    backoff = Backoff(1.0, 8.0, random.Random(1))
    backoff.attempt = 10  # at the cap
    delays = []
    for _ in range(500):
        delays.append(backoff.next_delay())
        backoff.attempt = 10
    assert min(delays) < 1.0 and max(delays) > 7.0  # not clustered at the ceiling


def test_a_huge_attempt_count_does_not_overflow() -> None:
    backoff = Backoff(0.5, 30.0)
    backoff.attempt = 10_000
    assert 0.0 <= backoff.next_delay() <= 30.0


def test_reset_starts_again_from_the_base() -> None:
    backoff = Backoff(0.5, 30.0)
    for _ in range(6):
        backoff.next_delay()
    backoff.reset()
    assert backoff.attempt == 0 and backoff.next_delay() <= 0.5


@pytest.mark.parametrize(("base", "cap"), [
    pytest.param(0.0, 1.0, id="a-zero-base"),
    pytest.param(2.0, 1.0, id="a-cap-below-the-base"),
])
def test_inconsistent_bounds_are_refused(base: float, cap: float) -> None:
    with pytest.raises(ValueError):
        Backoff(base, cap)
