"""The action process's part of the gates, checked piece by piece against plain numpy: the
training reference, the binning of served inputs, the rescaled top-class confidence, and the
bias measurement's groups (with a real MXNet block)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from edgewhisk_runtime.artifacts.instrument import (
    MAX_FEATURES,
    MAX_REFERENCE_ROWS,
    MAX_VERSIONS,
    Bins,
    MeasureError,
    Observer,
    bias_groups,
    input_matrix,
    reference_of,
    top_confidence,
)

RNG = np.random.default_rng(3)
TRAINING = RNG.normal(size=(500, 4)).astype(np.float32)
TRAINING[:, 3] = 7.0  # a constant feature, like a user's age in their own readings


def test_a_reference_holds_the_deciles_and_the_rows_per_bin_of_each_feature() -> None:
    reference = reference_of(TRAINING, "guest/u1/glucose@1", ["a", "b", "c", "age"])
    assert reference is not None
    assert (reference["source"], reference["rows"], reference["features"]) == (
        "guest/u1/glucose@1", 500, ["a", "b", "c", "age"])
    deciles = np.quantile(TRAINING[:, 0].astype(np.float64), np.linspace(0, 1, 11)[1:-1])
    assert reference["edges"][0] == pytest.approx(deciles.astype(np.float32).tolist())
    assert reference["edges"][3] == [7.0], "a constant feature has one edge: two bins"
    assert reference["counts"][3] == [500, 0]
    assert all(sum(counts) == 500 for counts in reference["counts"])
    assert reference_of(TRAINING, "x")["features"] == ["0", "1", "2", "3"], \
        "without names of the right length, features are numbered"


@pytest.mark.parametrize(("matrix", "why"), [
    pytest.param(np.zeros((0, 3)), "no rows", id="an empty matrix has no reference"),
    pytest.param(np.zeros((2, MAX_FEATURES + 1)), "too wide", id="too many features"),
])
def test_no_reference_for_an_empty_or_too_wide_matrix(matrix: Any, why: str) -> None:
    assert reference_of(matrix, "x") is None, why


def test_a_reference_counts_at_most_its_row_limit() -> None:
    reference = reference_of(np.arange(MAX_REFERENCE_ROWS + 5, dtype=np.float32)[:, None], "x")
    assert reference is not None and reference["rows"] == MAX_REFERENCE_ROWS


@pytest.mark.parametrize("rows", [1, 5, 32, 33, 300], ids=lambda n: f"{n} rows")
def test_binning_a_batch_agrees_with_a_search_per_feature(rows: int) -> None:
    reference = reference_of(TRAINING, "x")
    assert reference is not None
    bins = Bins(reference["edges"])
    batch = RNG.normal(size=(rows, 4)).astype(np.float32)
    batch[0, 3] = 7.0  # on the constant feature's edge: the lower bin
    expected = [np.bincount(np.searchsorted(np.asarray(e, dtype=np.float32), batch[:, j],
                                            side="left"), minlength=len(e) + 1).tolist()
                for j, e in enumerate(reference["edges"])]
    assert bins.lists(bins.count(batch)) == expected


def test_an_observer_keeps_the_bins_of_its_most_recently_sent_versions() -> None:
    observer = Observer()
    edges = [[0.0], [1.0]]
    observer.start({"m": {"key": "v0", "edges": edges}})
    for n in range(1, MAX_VERSIONS):
        observer.start({"m": {"key": f"v{n}", "edges": edges}})
    observer.start({"m": {"key": "v0", "edges": edges}})  # sent again: now the newest
    observer.start({"m": {"key": "new", "edges": edges}})  # one more than it keeps
    observer.start({"m": {"key": "v0"}})
    assert observer.bins["m"] is not None, "a version sent again is not the first evicted"
    observer.start({"m": {"key": "v1"}})
    assert observer.bins["m"] is None, "the least recently sent version was evicted"


@pytest.mark.parametrize(("outputs", "expected"), [
    pytest.param([[0.0, 0.0]], [0.0], id="equal logits are a uniform guess"),
    pytest.param([[0.0, np.log(3.0)]], [0.5], id="logits are soft-maxed: 3/4 top is 0.5"),
    pytest.param([[0.25, 0.75], [0.5, 0.5]], [0.5, 0.0], id="probabilities are taken as they are"),
    pytest.param([[0.2, 0.3, 0.5]], [(0.5 - 1 / 3) / (2 / 3)], id="k classes rescale by 1/k"),
    pytest.param([[0.9], [0.5]], [0.8, 0.0], id="one column of probabilities"),
    pytest.param([[0.0], [np.log(9.0)]], [0.0, 0.8], id="one column of logits"),
])
def test_top_confidence_is_rescaled_so_a_uniform_guess_is_zero(outputs: Any,
                                                               expected: list[float]) -> None:
    assert top_confidence(np.array(outputs)).tolist() == pytest.approx(expected)


def test_an_input_matrix_is_an_npz_x_or_a_two_dimensional_npy(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", X=TRAINING, y=np.zeros(500))
    np.save(tmp_path / "m.npy", TRAINING)
    np.save(tmp_path / "v.npy", TRAINING[:, 0])
    np.savez(tmp_path / "n.npz", features=TRAINING)
    assert input_matrix(tmp_path / "d.npz", "npz").shape == (500, 4)
    assert input_matrix(tmp_path / "m.npy", "npy").shape == (500, 4)
    assert input_matrix(tmp_path / "v.npy", "npy") is None, "one dimension is no matrix"
    assert input_matrix(tmp_path / "n.npz", "npz") is None, "an npz without X"
    assert input_matrix(tmp_path / "d.npz", "json") is None
    assert input_matrix(tmp_path / "gone.npz", "npz") is None


def _identity() -> Any:
    """A Gluon block whose two logits are its two inputs: class 1 wins when x1 > x0."""
    import mxnet as mx
    from mxnet.gluon import nn

    net = nn.HybridSequential()
    net.add(nn.Dense(2, in_units=2, use_bias=False))
    net.initialize()
    net[0].weight.set_data(mx.nd.array([[1, 0], [0, 1]]))
    return net


def _probe(path: Path, **arrays: Any) -> Path:
    np.savez(path, **arrays)
    return path


@pytest.mark.mxnet  # _identity() is an MXNet Gluon block
def test_bias_groups_are_bins_or_distinct_values_with_positives_and_rows(tmp_path: Path) -> None:
    x = np.array([[0, 1], [1, 0], [0, 1], [0, 1], [1, 0]], dtype=np.float32)
    ages = np.array([20, 30, 45, 70, 80], dtype=np.float32)
    probe = _probe(tmp_path / "p.npz", X=x, age=ages, sex=np.array(["f", "m", "f", "m", "f"]))
    assert bias_groups(_identity(), probe, "npz", "age", [40, 60]) == {
        "<40": [1, 2], "40-60": [1, 1], ">=60": [1, 2]}
    assert bias_groups(_identity(), probe, "npz", "sex", None) == {"f": [2, 3], "m": [1, 2]}


@pytest.mark.mxnet  # _identity() is an MXNet Gluon block
@pytest.mark.parametrize(("arrays", "attribute", "fmt", "message"), [
    pytest.param({"X": np.zeros((60, 2)), "id": np.arange(60)}, "id", "npz",
                 "60 distinct values; give bins", id="too many distinct values need bins"),
    pytest.param({"X": np.zeros((3, 2))}, "age", "npz", "no array 'age'",
                 id="the attribute must be an array of the data"),
    pytest.param({"X": np.zeros((3, 2)), "age": np.zeros(2)}, "age", "npz",
                 "X has 3 rows but 'age' has 2", id="as many values as rows"),
    pytest.param({"X": np.zeros((3, 2))}, "age", "npy", "must be an npz",
                 id="the evaluation data is an npz"),
])
def test_a_bias_measurement_that_cannot_be_made_says_why(
        tmp_path: Path, arrays: dict[str, Any], attribute: str, fmt: str, message: str) -> None:
    probe = _probe(tmp_path / "p.npz", **arrays)
    with pytest.raises(MeasureError, match=message):
        bias_groups(_identity(), probe, fmt, attribute, None)


def test_bias_is_measured_on_a_model_only(tmp_path: Path) -> None:
    probe = _probe(tmp_path / "p.npz", X=np.zeros((2, 2)), age=np.zeros(2))
    with pytest.raises(MeasureError, match="is a bytes, not an MXNet Gluon block"):
        bias_groups(b"weights", probe, "npz", "age", None)


@pytest.mark.mxnet  # the passes are an MXNet Gluon block's
def test_an_observer_sums_every_pass_of_an_activation_as_it_ran() -> None:
    """Each pass is counted when it runs (the action reuses one input array here, overwriting
    it between passes); the summary, packed for the proxy, holds every pass's rows."""
    import mxnet as mx
    from edgewhisk_runtime.artifacts.monitor import Summary

    net = _identity()
    observer = Observer()
    edges = [[0.0], [0.5]]
    observer.start({"m": {"key": "v1", "edges": edges}})
    net = observer.instrument("m", net)
    buffer = mx.nd.zeros((3, 2))
    batches = [RNG.normal(size=(3, 2)).astype(np.float32) for _ in range(70)]
    for batch in batches:
        buffer[:] = batch
        net(buffer)
    summary = Summary.parse(observer.summaries()["m"])
    assert summary is not None and summary.rows == 3 * len(batches)
    rows = np.concatenate(batches)
    assert summary.counts == tuple(
        tuple(np.bincount(np.searchsorted(np.asarray(e, dtype=np.float32), rows[:, j]),
                          minlength=len(e) + 1).tolist()) for j, e in enumerate(edges))
    assert summary.confidence == pytest.approx(float(top_confidence(rows).sum()))
    observer.start({"m": {"key": "v1"}})
    assert observer.summaries() == {}, "a new activation starts with nothing"
