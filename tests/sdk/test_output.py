"""``edgewhisk.Output``: a produced value with registry metadata and metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest
from edgewhisk import ArtifactError, Output
from edgewhisk.output import unwrap


def test_output_keeps_metadata_and_metrics_as_plain_json() -> None:
    out = Output(b"weights", metadata={"type": "classifier", "input": ("a", "b")},
                 metrics={"accuracy": 0.91, "bias": {"age": 0.7}})
    assert unwrap(out) == (b"weights", {"type": "classifier", "input": ["a", "b"]},
                           {"accuracy": 0.91, "bias": {"age": 0.7}})


def test_numpy_scalars_in_metrics_become_numbers() -> None:
    """numpy 2 (NEP 50) keeps ``np.float32(x) * 0.5`` a float32, which json refuses; numpy 1
    promoted it to float64. Metrics computed with numpy are kept as the numbers they hold."""
    accuracy = np.float32(0.75) * 1.0
    assert isinstance(accuracy, np.float32) == (np.__version__ >= "2")
    out = Output(b"w", metrics={"accuracy": accuracy, "n": np.int64(3), "ok": np.bool_(True),
                                "per_class": [np.float32(0.5)]})
    assert unwrap(out)[2] == {"accuracy": 0.75, "n": 3, "ok": True, "per_class": [0.5]}


def test_a_bare_value_has_no_metadata() -> None:
    assert unwrap([1, 2]) == ([1, 2], {}, {})


@pytest.mark.parametrize("field, value, words", [
    ("metrics", {"accuracy": math.nan}, "not JSON"),
    ("metrics", {"accuracy": object()}, "not JSON"),
    ("metrics", {"accuracy": np.float32("nan")}, "not JSON"),
    ("metrics", {"weights": np.ones(2)}, "not JSON"),
    ("metadata", ["type"], "JSON object"),
    ("metadata", {1: "x"}, "string keys"),
])
def test_output_refuses_what_the_registry_could_not_keep(field: str, value: object,
                                                         words: str) -> None:
    with pytest.raises(ArtifactError, match=words):
        Output(b"x", **{field: value})  # type: ignore[arg-type]
