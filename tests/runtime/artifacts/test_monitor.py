"""The gates' statistics in the proxy (pure Python), checked against numpy on the same counts,
and the window's bookkeeping: the last ``limit`` rows, as whole activations."""

from __future__ import annotations

import numpy as np
import pytest
from edgewhisk_runtime.artifacts.monitor import (
    FLOOR,
    Reference,
    Summary,
    Window,
    confidence,
    disparate_impact,
    ks,
    psi,
)

REFERENCE = Reference(features=("a", "b"), edges=((0.0, 1.0), (5.0,)),
                      counts=((10, 20, 70), (50, 50)), rows=100)


def summary(rows: int, conf: float, a: tuple[int, int, int], b: tuple[int, int]) -> Summary:
    return Summary(rows, conf, (a, b))


def numpy_psi(p: list[int], q: list[int]) -> float:
    pp = np.maximum(np.asarray(p) / sum(p), FLOOR)
    qq = np.maximum(np.asarray(q) / sum(q), FLOOR)
    return float(np.sum((pp - qq) * np.log(pp / qq)))


def numpy_ks(p: list[int], q: list[int]) -> float:
    return float(np.max(np.abs(np.cumsum(p) / sum(p) - np.cumsum(q) / sum(q))))


def test_a_window_keeps_the_last_rows_as_whole_activations() -> None:
    window = Window(limit=10)
    window.add(summary(4, 2.0, (4, 0, 0), (4, 0)))
    assert (window.rows, window.full) == (4, False)
    window.add(summary(4, 1.0, (0, 4, 0), (0, 4)))
    window.add(summary(4, 3.0, (0, 0, 4), (4, 0)))
    assert (window.rows, window.full) == (12, True), "the oldest stays until 10 rows remain"
    window.add(summary(6, 0.0, (6, 0, 0), (0, 6)))
    assert window.rows == 10 and len(window.parts) == 2, "the two oldest left"
    assert window.counts == [[6, 0, 4], [4, 6]]
    assert window.confidence_sum == pytest.approx(3.0)
    window.add(Summary(0, 0.0, None))
    assert window.rows == 10, "an activation that ran no rows changes nothing"


def test_a_window_starts_again_when_the_reference_changes_shape() -> None:
    window = Window(limit=5)
    window.add(summary(3, 1.0, (1, 1, 1), (3, 0)))
    window.add(Summary(2, 1.0, ((2, 0), (0, 2))))
    assert (window.rows, window.counts) == (2, [[2, 0], [0, 2]])


def test_drift_scores_agree_with_numpy_on_the_same_counts() -> None:
    window = Window(limit=50)
    window.add(summary(30, 12.0, (0, 10, 20), (30, 0)))
    window.add(summary(20, 8.0, (20, 0, 0), (0, 20)))
    assert confidence(window) == pytest.approx(20.0 / 50)
    worst_psi = psi(window, REFERENCE)
    expected = {"a": numpy_psi([20, 10, 20], [10, 20, 70]), "b": numpy_psi([30, 20], [50, 50])}
    assert worst_psi is not None and worst_psi[1] == max(expected, key=expected.__getitem__)
    assert worst_psi[0] == pytest.approx(max(expected.values()))
    worst_ks = ks(window, REFERENCE)
    expected = {"a": numpy_ks([20, 10, 20], [10, 20, 70]), "b": numpy_ks([30, 20], [50, 50])}
    assert worst_ks == (pytest.approx(max(expected.values())),
                        max(expected, key=expected.__getitem__))


def test_the_same_distribution_has_no_drift() -> None:
    window = Window(limit=100)
    window.add(summary(100, 50.0, (10, 20, 70), (50, 50)))
    assert psi(window, REFERENCE) == (pytest.approx(0.0), "a")
    assert ks(window, REFERENCE)[0] == pytest.approx(0.0)  # type: ignore[index]


def test_without_counts_or_with_another_shape_there_is_no_score() -> None:
    empty = Window(limit=5)
    empty.add(Summary(5, 1.0, None))
    assert psi(empty, REFERENCE) is None and confidence(empty) == pytest.approx(0.2)
    other = Window(limit=5)
    other.add(Summary(5, 1.0, ((5, 0, 0),)))
    assert ks(other, REFERENCE) is None
    assert confidence(Window(limit=5)) is None


@pytest.mark.parametrize(("doc", "parsed"), [
    pytest.param({"features": ["a"], "edges": [[1]], "counts": [[1, 2]], "rows": 3},
                 Reference(("a",), ((1.0,),), ((1, 2),), 3), id="a reference parses"),
    pytest.param({"features": ["a"], "edges": [[1]], "counts": [[1]], "rows": 1}, None,
                 id="a count per bin, one more than the edges, or nothing"),
    pytest.param({"features": ["a", "b"], "edges": [[1]], "counts": [[1, 2]], "rows": 3}, None,
                 id="as many features as histograms"),
    pytest.param({"edges": [[1]], "counts": [[1, 2]], "rows": 3}, None, id="features missing"),
    pytest.param({"features": ["a"], "edges": [["x"]], "counts": [[1, 2]], "rows": 3}, None,
                 id="edges are numbers"),
    pytest.param("reference", None, id="not an object"),
    pytest.param(None, None, id="no reference"),
])
def test_a_reference_parses_or_is_none(doc: object, parsed: Reference | None) -> None:
    assert Reference.parse(doc) == parsed


@pytest.mark.parametrize(("groups", "ratio"), [
    pytest.param({"young": [30, 100], "old": [15, 100]}, 0.5, id="half the rate gives 0.5"),
    pytest.param({"a": [0, 10], "b": [0, 20]}, 1.0, id="nobody positive gives 1"),
    pytest.param({"a": [5, 10], "b": [0, 10], "c": [0, 0]}, 0.0,
                 id="a group never positive gives 0; empty groups are left out"),
])
def test_disparate_impact_is_the_lowest_over_the_highest_positive_rate(
        groups: dict[str, list[int]], ratio: float) -> None:
    assert disparate_impact(groups) == pytest.approx(ratio)


def test_disparate_impact_needs_two_groups_with_rows() -> None:
    with pytest.raises(ValueError, match="1 group"):
        disparate_impact({"a": [1, 2], "b": [0, 0]})


def test_a_summary_parses_or_is_none() -> None:
    assert Summary.parse({"rows": 2, "confidence": 1.5, "counts": [[1, 1]]}) == \
        Summary(2, 1.5, ((1, 1),))
    assert Summary.parse({"rows": 2, "confidence": 1.5, "counts": None}) == Summary(2, 1.5)
    assert Summary.parse({"rows": "x", "confidence": 1}) is None
    assert Summary.parse(None) is None


def test_psi_recomputes_only_what_moved_and_agrees_with_a_fresh_window() -> None:
    rng = np.random.default_rng(5)
    window = Window(limit=12)
    for step in range(200):
        rows = int(rng.choice([1, 1, 1, 2, 4]))  # mostly equal sizes: the terms are reused
        a = tuple(int(c) for c in rng.multinomial(rows, [0.2, 0.3, 0.5]))
        b = tuple(int(c) for c in rng.multinomial(rows, [0.9, 0.1]))
        window.add(summary(rows, 0.5 * rows, a, b))
        fresh = Window(limit=12)
        for part in window.parts:
            fresh.add(part)
        assert psi(window, REFERENCE) == psi(fresh, REFERENCE), f"step {step}"
        counts = window.counts
        assert counts is not None
        expected = {"a": numpy_psi(counts[0], [10, 20, 70]), "b": numpy_psi(counts[1], [50, 50])}
        assert psi(window, REFERENCE)[0] == pytest.approx(max(expected.values()))  # type: ignore[index]
    window.clear()
    assert window.psi_terms is None and psi(window, REFERENCE) is None
