"""The activation schema: how a container's answer becomes upstream's response, and ids."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from edgewhisk_controller.schema import activation as act


@dataclass
class Outcome:
    status: int
    response: Any
    init_failed: bool = False
    timed_out: bool = False


BIG = "x" * act.MAX_RESULT_BYTES
RESPONSES = [
    pytest.param(Outcome(200, {"a": 1}), act.success({"a": 1}), id="200 object: success"),
    pytest.param(Outcome(200, [1]), act.success([1]), id="200 array: success"),
    pytest.param(Outcome(200, {"error": {"why": 1}}), act.application_error({"why": 1}),
                 id="200 with error: application error, the error kept as is"),
    pytest.param(Outcome(502, {"error": "bad"}), act.developer_error("bad"),
                 id="502 with error: developer error"),
    pytest.param(Outcome(500, {"oops": 1}),
                 act.developer_error(act.invalid_run_response('{"oops":1}')),
                 id="non-200 without error: developer error naming the body"),
    pytest.param(Outcome(200, "not json"),
                 act.developer_error(act.invalid_run_response("not json")),
                 id="200 with a body that is not JSON: developer error quoting it"),
    pytest.param(Outcome(200, None), act.developer_error(act.invalid_run_response("")),
                 id="200 without a body: developer error"),
    pytest.param(Outcome(502, {"error": "no main"}, init_failed=True),
                 act.developer_error("no main"), id="init failure: developer error"),
    pytest.param(Outcome(502, "crash", init_failed=True),
                 act.developer_error(act.invalid_init_response("crash")),
                 id="init failure without error: developer error naming the body"),
]


@pytest.mark.parametrize("outcome, expected", RESPONSES)
def test_response_of(outcome: Outcome, expected: act.Response) -> None:
    assert act.response_of(outcome, 60_000) == (expected, False)


@pytest.mark.parametrize("outcome", [
    pytest.param(Outcome(502, {"error": "..."}, timed_out=True), id="the pool says so"),
    pytest.param(Outcome(504, {"error": "..."}), id="the runtime answered 504"),
])
def test_a_timed_out_activation_gets_upstreams_message(outcome: Outcome) -> None:
    assert act.response_of(outcome, 500) == (
        act.developer_error("The action exceeded its time limits of 500 milliseconds."), True)


@pytest.mark.parametrize("body, size", [
    pytest.param({"s": BIG}, act.MAX_RESULT_BYTES + 8, id="an object"),
    pytest.param({"error": BIG}, act.MAX_RESULT_BYTES + 12, id="an error object"),
])
def test_a_result_over_the_limit_becomes_a_developer_error(body: Any, size: int) -> None:
    response, timed_out = act.response_of(Outcome(200, body), 60_000)
    assert not timed_out and response.status_code == act.DEVELOPER_ERROR
    prefix = (f"The action produced a response that exceeded the allowed length: {size} > "
              f"{act.MAX_RESULT_BYTES} bytes. The truncated response was: ")
    assert response.result["error"].startswith(prefix)
    assert len(response.result["error"]) == len(prefix) + act.MAX_RESULT_BYTES


def test_a_result_at_the_limit_is_kept() -> None:
    body = {"s": BIG[: act.MAX_RESULT_BYTES - 8]}
    assert act.response_of(Outcome(200, body), 60_000) == (act.success(body), False)


def test_the_response_json_names_every_status() -> None:
    assert [act.Response(code, None).to_json()["status"] for code in range(4)] == [
        "success", "application error", "action developer error", "whisk internal error"]
    assert act.success({}).to_json() == {"status": "success", "statusCode": 0, "success": True,
                                         "result": {}}


def test_activation_ids_are_32_hex_characters_and_fresh() -> None:
    ids = {act.new_activation_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 32 and int(i, 16) >= 0 and i == i.lower() for i in ids)


def test_a_record_round_trips_through_its_store_document() -> None:
    rec = act.record(namespace="ns", name="a", version="0.0.1", subject="s",
                     activation_id="0" * 32, start=5, end=9, response=act.success({}),
                     cause="1" * 32)
    assert rec["duration"] == 4 and rec["cause"] == "1" * 32
    doc = act.to_doc(rec)
    assert doc["_id"] == "0" * 32
    assert act.from_doc({**doc, "_rev": "1-x"}) == rec
