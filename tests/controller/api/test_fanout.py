"""Invoking an action whose annotation has variables, through the real API.

Bound variables run one activation; a variable other than ``{usr}`` left unbound is a 400
naming it; an unbound ``{usr}`` fans out over the users on record — on the default controller
(local invokers, no owners) there is nobody on record, and the answer says so.
"""

from __future__ import annotations

from typing import Any

import pytest

from .harness import Client

CODE = '''
def main(args):
    return {"user": args.get("usr"), "day": args.get("day")}
'''


def annotation(ref: str) -> dict[str, Any]:
    return {"key": "edgewhisk", "value": {
        "version": 1, "produces": [{"kind": "data", "ref": ref, "name": "summary"}]}}


@pytest.fixture
def action(guest: Client) -> str:
    answer = guest.put("actions/per-user?overwrite=true", json={
        "exec": {"kind": "python:3", "code": CODE},
        "annotations": [annotation("{usr}/summary-{day}")]})
    assert answer.status_code == 200, answer.text
    return "actions/per-user"


def test_bound_variables_run_one_activation(guest: Client, action: str) -> None:
    answer = guest.post(f"{action}?blocking=true&result=true", json={"usr": "u1", "day": "mon"},
                        headers={"X-Edgewhisk-Site": "lab"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"user": "u1", "day": "mon"}


def test_an_unbound_variable_that_cannot_fan_out_is_a_400_naming_it(guest: Client,
                                                                     action: str) -> None:
    answer = guest.post(f"{action}?blocking=true", json={"usr": "u1"})
    assert answer.status_code == 400, answer.text
    assert "{day}" in answer.json()["error"] and "pass 'day' as a parameter" in \
        answer.json()["error"]


def test_a_value_that_is_not_one_path_segment_is_a_400(guest: Client, action: str) -> None:
    answer = guest.post(f"{action}?blocking=true", json={"usr": "../u2", "day": "mon"})
    assert answer.status_code == 400, answer.text
    assert "{usr}" in answer.json()["error"]


@pytest.mark.parametrize("blocking", [False, True],
                         ids=["non-blocking answers 202", "blocking answers the parent record"])
def test_an_unbound_usr_with_nobody_on_record_fans_out_to_nothing_and_says_why(
        guest: Client, action: str, blocking: bool) -> None:
    answer = guest.post(f"{action}?blocking={str(blocking).lower()}", json={"day": "mon"})
    body = answer.json()
    assert answer.status_code == (500 if blocking else 202), answer.text
    assert body["fanout"] == {"users": 0, "activations": [],
                              "excluded": {"count": 0, "users": {}}}
    assert answer.headers["X-OW-Activation-Id"] == body["activationId"]
    parent = guest.wait_activation(body["activationId"])
    assert "no user on record" in parent["response"]["result"]["error"]
    assert parent["response"]["result"]["fanout"]["users"] == 0
