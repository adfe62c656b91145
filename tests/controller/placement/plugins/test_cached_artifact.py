"""CachedArtifact: the fraction of the model/image artifacts already on the invoker."""

from __future__ import annotations

import pytest

from ..cluster import inv, scores

CLUSTER = [inv("none"), inv("model", cached={"base"}), inv("all", cached={"base", "img"})]
CASES = [
    pytest.param(("base", "img"), [0, 50, 100], id="the score is the fraction held"),
    pytest.param(("other",), [0, 0, 0], id="nobody holds it: all 0"),
    pytest.param((), [0, 0, 0], id="no artifacts: all 0"),
]


@pytest.mark.parametrize("artifacts, expected", CASES)
def test_cached_artifact_score(artifacts: tuple, expected: list[float]) -> None:
    assert scores("CachedArtifact", CLUSTER, {"artifacts": artifacts}) == expected
