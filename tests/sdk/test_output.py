"""``edgewhisk.Output``: a produced value with registry metadata and metrics."""

from __future__ import annotations

import math

import pytest
from edgewhisk import ArtifactError, Output
from edgewhisk.output import unwrap


def test_output_keeps_metadata_and_metrics_as_plain_json() -> None:
    out = Output(b"weights", metadata={"type": "classifier", "input": ("a", "b")},
                 metrics={"accuracy": 0.91, "bias": {"age": 0.7}})
    assert unwrap(out) == (b"weights", {"type": "classifier", "input": ["a", "b"]},
                           {"accuracy": 0.91, "bias": {"age": 0.7}})


def test_a_bare_value_has_no_metadata() -> None:
    assert unwrap([1, 2]) == ([1, 2], {}, {})


@pytest.mark.parametrize("field, value, words", [
    ("metrics", {"accuracy": math.nan}, "not JSON"),
    ("metrics", {"accuracy": object()}, "not JSON"),
    ("metadata", ["type"], "JSON object"),
    ("metadata", {1: "x"}, "string keys"),
])
def test_output_refuses_what_the_registry_could_not_keep(field: str, value: object,
                                                         words: str) -> None:
    with pytest.raises(ArtifactError, match=words):
        Output(b"x", **{field: value})  # type: ignore[arg-type]
