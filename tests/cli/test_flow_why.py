"""The demo's WHY column (``edgewhisk demo --flow``): the decisive reason read from a record's
``placement`` annotation, the engine's explanation of its choice."""

from __future__ import annotations

from typing import Any

import pytest
from edgewhisk_cli.demo.flow_steps import why


@pytest.mark.parametrize(("placement", "expected"), [
    pytest.param({"invoker": "cloud-node", "candidates": 1, "of": 3,
                  "terms": [{"plugin": "BalancedLoad", "score": 100.0}],
                  "excluded": {"not matching node cloud": 2}},
                 "node cloud (1 of 3)",
                 id="a lone candidate: the hard constraints that left out the rest"),
    pytest.param({"invoker": "u1-phone", "candidates": 1, "of": 4,
                  "excluded": {"not matching node u1_device": 2, "unhealthy": 1}},
                 "node u1_device, unhealthy (1 of 4)",
                 id="every exclusion is named"),
    pytest.param({"invoker": "edge-1", "candidates": 2, "of": 3,
                  "terms": [{"plugin": "CachedArtifact", "score": 100.0, "runnerUp": 0.0}],
                  "runnerUp": {"invoker": "cloud-node", "score": 50.0},
                  "excluded": {"not matching node edge": 1}},
                 "CachedArtifact (2 of 3)", id="candidates: the most decisive soft term"),
    pytest.param({"invoker": "a", "candidates": 2, "of": 2, "terms": []}, "a tie (2 of 2)",
                 id="a tie on every term"),
    pytest.param(None, "-", id="a controller that records no explanation"),
])
def test_why_names_the_decisive_constraint(placement: Any, expected: str) -> None:
    assert why(placement) == expected
