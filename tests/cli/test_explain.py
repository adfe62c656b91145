"""The placement explanation in words, from records the controller writes."""

from __future__ import annotations

from typing import Any

import pytest
from edgewhisk_cli.explain import describe

WHY = {"invoker": "phone", "score": 250.0, "candidates": 3, "of": 5,
       "terms": [{"plugin": "NetworkMembership", "score": 100.0, "runnerUp": 0.0}],
       "runnerUp": {"invoker": "gpu-box", "score": 150.0},
       "excluded": {"unhealthy": 1, "with too little memory (needs 256 MB)": 1}}


def record(**fields: Any) -> dict[str, Any]:
    annotations = [{"key": k, "value": v} for k, v in fields.items()]
    return {"activationId": "a1", "annotations": annotations,
            "response": {"result": {"error": "0/2 invokers are available: 2 unhealthy."}}}


@pytest.mark.parametrize(("rec", "expected"), [
    pytest.param(record(invoker="phone", placement=WHY), [
        "activation a1 ran on phone: the best of 3 candidate(s) among 5 invoker(s), score 250.",
        "The runner-up was gpu-box with 150 (+100.00); what decided it:",
        "  NetworkMembership: 100 against 0 (+100.00)",
        "Excluded: 1 unhealthy, 1 with too little memory (needs 256 MB)."],
        id="a decision names its runner-up, the terms that decided and the exclusions"),
    pytest.param(record(invoker="phone", placement={
        "invoker": "phone", "score": 80.0, "candidates": 1, "of": 1,
        "terms": [{"plugin": "BalancedLoad", "score": 80.0}]}), [
        "activation a1 ran on phone: the best of 1 candidate(s) among 1 invoker(s), score 80.",
        "No other invoker could take it; its score was made of:", "  BalancedLoad: 80"],
        id="a lone candidate lists what its score was made of"),
    pytest.param(record(), [
        "activation a1 was not placed on any invoker: 0/2 invokers are available: "
        "2 unhealthy."], id="an unschedulable activation says why nothing took it"),
    pytest.param(record(invoker="local0"), [
        "activation a1 ran on local0; its record has no placement explanation (a trigger, "
        "sequence or composition, an activation moved after its invoker was lost, or a "
        "controller started with --no-explain)."],
        id="a record without an explanation says so"),
])
def test_the_explanation_in_words(rec: dict[str, Any], expected: list[str]) -> None:
    assert describe(rec) == expected
