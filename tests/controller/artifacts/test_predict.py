"""The preload predictor's model: decayed counts per (owner, hour) and (site, role, hour)."""

from __future__ import annotations

from edgewhisk_controller.artifacts.predict import HALF_LIFE_S, HOUR_S, Predictor
from edgewhisk_controller.placement import InvokerState

EIGHT_AM = 8 * HOUR_S + 10 * 86_400.0  # 08:00 UTC, some day


def device(owner: str | None, site: str = "plant") -> InvokerState:
    return InvokerState(f"{owner}-phone", frozenset({"python:3"}), 512, 512, 0, role="edge",
                        owner=owner, site=site)


def test_what_a_user_needed_at_this_hour_is_wanted_with_its_reason() -> None:
    p = Predictor()
    for day in range(3):
        p.observe("guest", device("u1"), ["glucose-base"], t=EIGHT_AM - day * 86_400)
    wanted = p.wanted("guest", device("u1"), t=EIGHT_AM + 60)
    assert [name for name, _, _ in wanted] == ["glucose-base"]
    name, score, reason = wanted[0]
    assert reason.startswith("predicted: u1 needed glucose-base 2.4 times, mostly around "
                             "08:00; site plant 2.4")
    decayed = sum(0.5 ** (day / 3) for day in range(3))  # a three-day half-life
    assert 1.5 * decayed * 0.99 <= score <= 1.5 * decayed  # owner + half the site's


def test_the_day_ahead_counts_and_a_model_needed_once_long_ago_does_not() -> None:
    p = Predictor()
    p.observe("guest", device("u1"), ["m"], t=EIGHT_AM)
    night = EIGHT_AM + 19 * HOUR_S  # 03:00 next night: 08:00 is in the day ahead
    assert [n for n, _, _ in p.wanted("guest", device("u1"), t=night)] == ["m"]
    assert p.wanted("guest", device("u1"), t=EIGHT_AM + 3 * HALF_LIFE_S) == []


def test_a_new_device_at_the_site_learns_from_the_others() -> None:
    p = Predictor()
    for user in ("u1", "u2"):
        p.observe("guest", device(user), ["plant-model"], t=EIGHT_AM)
    assert [n for n, _, _ in p.wanted("guest", device("u9"), t=EIGHT_AM)] == ["plant-model"]
    assert p.wanted("guest", device("u9", site="office"), t=EIGHT_AM) == []
    assert p.wanted("other-namespace", device("u1"), t=EIGHT_AM) == []


def test_counts_decay_and_at_most_three_are_wanted() -> None:
    p = Predictor()
    p.observe("guest", device("u1"), ["old"], t=EIGHT_AM - 10 * HALF_LIFE_S)
    for i in range(5):
        p.observe("guest", device("u1"), [f"m{i}"] * 2, t=EIGHT_AM)  # one count per activation
    wanted = p.wanted("guest", device("u1"), t=EIGHT_AM)
    assert len(wanted) == 3 and "old" not in [n for n, _, _ in wanted]
