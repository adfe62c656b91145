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
    assert reason.startswith("predicted: u1 needed glucose-base 1.7 times around 08:00; "
                             "site plant 1.7")
    assert 1.5 * (1 + 0.5 + 0.25) * 0.99 <= score <= 1.5 * 1.75  # owner + half the site's


def test_the_next_hour_counts_and_other_hours_do_not() -> None:
    p = Predictor()
    p.observe("guest", device("u1"), ["m"], t=EIGHT_AM)
    assert p.wanted("guest", device("u1"), t=EIGHT_AM - HOUR_S)  # work arriving at 08:00
    assert p.wanted("guest", device("u1"), t=EIGHT_AM - 3 * HOUR_S) == []


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
