"""``bench/_paired.py``: the on/off cost over paired chunks and its bootstrap interval.

The chunk loop runs every side once a chunk, the order reversed every other chunk, the last
chunk the rest, and returns each side's samples; bad sizes are refused before anything runs.
The estimator is checked on chunks whose truth is known: a fixed extra cost is found with an
interval around it, equal sides give an interval around zero, an order bias that ABBA chunks
balance cancels, and too few or unpaired chunks are refused with a clear error.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from _paired import Chunk, chunked, cost, plan  # noqa: E402  (bench/: scripts)


def _noisy(extra: float, chunks: int = 40, noise: float = 0.04,
           seed: int = 1) -> tuple[list[Chunk], list[Chunk]]:
    """Paired chunks of 100 invokes: B costs ~1 ms an invoke, A ``extra`` more, both moving
    together with the chunk's machine state and apart by ``noise``."""
    rng = random.Random(seed)
    a, b = [], []
    for _ in range(chunks):
        machine = rng.uniform(0.8, 1.3)  # what both sides of a chunk share
        b.append(Chunk(0.1 * machine * rng.gauss(1, noise), 100))
        a.append(Chunk(0.1 * machine * (1 + extra) * rng.gauss(1, noise), 100))
    return a, b


def test_a_fixed_extra_cost_is_found_inside_its_interval() -> None:
    paid = cost(*_noisy(0.10))
    assert paid.low < 10 < paid.high and 7 < paid.percent < 13
    assert paid.chunks == 40 and paid.verdict(5.0) == "missed"


def test_equal_sides_give_an_interval_around_zero_and_meet_an_aim_above_it() -> None:
    paid = cost(*_noisy(0.0))
    assert paid.low < 0 < paid.high and paid.high < 5
    assert paid.verdict(5.0) == "met"


def test_an_interval_that_straddles_the_aim_shows_nothing() -> None:
    paid = cost(*_noisy(0.05, chunks=6, noise=0.10, seed=3))
    assert paid.low < 5 < paid.high
    assert paid.verdict(5.0) == "not shown"
    assert paid.interval() == f"{paid.percent:+.1f} % [{paid.low:+.1f}, {paid.high:+.1f}]"


def test_a_bias_against_whichever_side_goes_first_cancels_over_abba_chunks() -> None:
    a, b = [], []
    for i in range(20):  # even chunks A first, odd chunks B first; the first pays 5 % more
        a.append(Chunk(0.105 if i % 2 == 0 else 0.100, 100))
        b.append(Chunk(0.100 if i % 2 == 0 else 0.105, 100))
    paid = cost(a, b)
    assert paid.percent == pytest.approx(0.0, abs=1e-9)
    assert paid.low < 0 < paid.high


@pytest.mark.parametrize(("a", "b", "message"), [
    pytest.param([Chunk(1, 1)] * 3, [Chunk(1, 1)] * 2, "3 of side A against 2 of side B",
                 id="unpaired"),
    pytest.param([Chunk(1, 1)], [Chunk(1, 1)], "1 chunk(s), an interval needs at least 2",
                 id="one chunk"),
    pytest.param([], [], "0 chunk(s)", id="none"),
    pytest.param([Chunk(1, 1), Chunk(1, 0)], [Chunk(1, 1)] * 2, "a chunk without invokes",
                 id="no invokes"),
])
def test_chunks_that_cannot_give_an_interval_are_refused(a: list[Chunk], b: list[Chunk],
                                                         message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        cost(a, b)


def test_chunks_run_every_side_once_reversed_every_other_chunk_and_return_their_samples(
        ) -> None:
    order: list[tuple[str, int]] = []
    done: list[int] = []

    def side(name: str) -> Callable[[int], str]:
        def run(n: int) -> str:
            order.append((name, n))
            return f"{name}{n}"
        return run

    samples = chunked({"a": side("a"), "b": side("b"), "c": side("c")}, 10, 4, done.append)
    assert order == [("a", 4), ("b", 4), ("c", 4), ("c", 4), ("b", 4), ("a", 4),
                     ("a", 2), ("b", 2), ("c", 2)]
    assert samples == {"a": ["a4", "a4", "a2"], "b": ["b4", "b4", "b2"],
                       "c": ["c4", "c4", "c2"]}
    assert done == [4, 8, 10]


def test_the_plan_says_each_chunks_runs_for_a_caller_that_runs_them_itself() -> None:
    assert list(plan(["a", "b"], 5, 2)) == [(2, [("a", 2), ("b", 2)]), (4, [("b", 2), ("a", 2)]),
                                          (5, [("a", 1), ("b", 1)])]


@pytest.mark.parametrize(("names", "calls", "size"), [
    pytest.param((), 10, 2, id="no side"),
    pytest.param(("a",), 0, 2, id="no call"),
    pytest.param(("a",), 10, 0, id="empty chunks"),
])
def test_chunks_of_nothing_are_refused_before_anything_runs(names: tuple[str, ...], calls: int,
                                                            size: int) -> None:
    ran: list[int] = []
    with pytest.raises(ValueError, match="each needs at least one"):
        chunked({name: ran.append for name in names}, calls, size)
    with pytest.raises(ValueError, match="each needs at least one"):
        next(plan(names, calls, size))
    assert ran == []
