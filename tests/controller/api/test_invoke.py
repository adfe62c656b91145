"""Invoking actions: blocking or not, result only or the whole record, and upstream's statuses."""

from __future__ import annotations

import json

import pytest

from .harness import Client, create_action

ECHO = "def main(args):\n    print('echo', sorted(args))\n    return args\n"
APPLICATION_ERROR = "def main(args):\n    return {'error': 'no ' + args.get('what', 'luck')}\n"
DEVELOPER_ERROR = "def main(args):\n    raise RuntimeError('boom')\n"
SLOW = (
    "import time\n\ndef main(args):\n    time.sleep(args.get('s', 3))\n"
    "    return {'slept': True}\n"
)


@pytest.fixture(scope="module", autouse=True)
def actions(controller: object) -> None:
    with controller.client() as client:  # type: ignore[attr-defined]
        create_action(client, "echo", ECHO, parameters=[{"key": "from", "value": "action"},
                                                        {"key": "kept", "value": 1}])
        create_action(client, "app-error", APPLICATION_ERROR)
        create_action(client, "dev-error", DEVELOPER_ERROR)
        create_action(client, "slow", SLOW)


def test_blocking_with_result_answers_the_result_with_200(guest: Client) -> None:
    response = guest.request("POST", "actions/echo?blocking=true&result=true",
                             json={"from": "body"})
    assert response.status_code == 200
    assert response.json() == {"from": "body", "kept": 1}  # the body wins over the action's
    assert len(response.headers["X-OW-Activation-Id"]) == 32


def test_blocking_without_result_answers_the_whole_record(guest: Client) -> None:
    response = guest.request("POST", "actions/echo?blocking=true", json={"n": 1})
    assert response.status_code == 200
    record = response.json()
    assert record["activationId"] == response.headers["X-OW-Activation-Id"]
    assert record["namespace"] == "guest" and record["name"] == "echo"
    assert record["response"]["status"] == "success" and record["response"]["success"] is True
    assert record["response"]["result"] == {"from": "action", "kept": 1, "n": 1}
    assert any("echo" in line for line in record["logs"])
    keys = {a["key"] for a in record["annotations"]}
    assert {"path", "kind", "limits", "waitTime", "invoker"} <= keys
    assert not any(key.startswith("_") for key in record)


def test_non_blocking_answers_202_with_the_id_and_the_record_follows(guest: Client) -> None:
    response = guest.request("POST", "actions/echo", json={"n": 2})
    assert response.status_code == 202
    activation_id = response.json()["activationId"]
    assert response.json() == {"activationId": activation_id}
    assert response.headers["X-OW-Activation-Id"] == activation_id
    record = guest.activations.wait(activation_id)
    assert record["response"]["result"]["n"] == 2


def test_an_empty_body_invokes_with_the_action_parameters_only(guest: Client) -> None:
    response = guest.request("POST", "actions/echo?blocking=true&result=true")
    assert response.status_code == 200 and response.json() == {"from": "action", "kept": 1}


# The dispatcher decides which of the two error kinds a crash is (as upstream's invoker does);
# the API's part is the 502 either way.
FAILED = ("application error", "action developer error")


@pytest.mark.parametrize(
    "action, result, text",
    [
        ("app-error", "true", "no luck"),
        ("app-error", "false", "no luck"),
        ("dev-error", "true", ""),
        ("dev-error", "false", ""),
    ],
    ids=["an application error, result only", "an application error, whole record",
         "a developer error, result only", "a developer error, whole record"],
)
def test_failed_blocking_invokes_answer_502(guest: Client, action: str, result: str,
                                            text: str) -> None:
    response = guest.request("POST", f"actions/{action}?blocking=true&result={result}")
    assert response.status_code == 502, response.text
    assert response.headers["X-OW-Activation-Id"]
    body = response.json()
    error = body if result == "true" else body["response"]["result"]
    assert "error" in error and text in json.dumps(error)
    if result == "false":
        assert body["response"]["status"] in FAILED and body["response"]["success"] is False


def test_a_blocking_invoke_still_running_at_the_wait_limit_answers_202(guest: Client) -> None:
    response = guest.request("POST", "actions/slow?blocking=true&timeout=300", json={"s": 2})
    assert response.status_code == 202
    activation_id = response.json()["activationId"]
    assert response.headers["X-OW-Activation-Id"] == activation_id
    record = guest.activations.wait(activation_id)
    assert record["response"]["result"] == {"slept": True}


@pytest.mark.parametrize(
    "query, field",
    [("blocking=maybe", "blocking"), ("result=1", "result"), ("blocking=true&timeout=0",
                                                              "timeout"),
     ("blocking=true&timeout=60001", "timeout"), ("timeout=soon", "timeout")],
    ids=["blocking that is no boolean", "result that is no boolean", "a zero timeout",
         "a timeout over 60 s", "a timeout that is no number"],
)
def test_bad_invoke_options_are_a_400_naming_them(guest: Client, query: str, field: str) -> None:
    response = guest.request("POST", f"actions/echo?{query}", json={})
    assert response.status_code == 400 and response.json()["error"].startswith(field)


@pytest.mark.parametrize(
    "body",
    ['[1, 2]', '"text"', "42", "{not json"],
    ids=["a list", "a string", "a number", "malformed JSON"],
)
def test_parameters_must_be_a_json_object(guest: Client, body: str) -> None:
    response = guest.request("POST", "actions/echo?blocking=true", data=body,
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and set(response.json()) == {"error", "code"}


def test_a_payload_over_one_mebibyte_is_a_413(guest: Client) -> None:
    response = guest.request("POST", "actions/echo?blocking=true",
                             json={"big": "x" * (1024 * 1024)})
    assert response.status_code == 413  # upstream's Messages.entityTooBig, word for word
    assert response.json()["error"] == "Request larger than allowed: 1048587 > 1048576 bytes."
    assert guest.request("POST", "actions/echo?blocking=true&result=true",
                         json={}).status_code == 200


def test_invoking_an_unknown_action_is_a_404(guest: Client) -> None:
    assert guest.request("POST", "actions/missing?blocking=true", json={}).status_code == 404


def test_a_whisk_internal_error_answers_500_with_the_record(guest: Client) -> None:
    # The process backend runs no images: no invoker can take a blackbox action.
    response = guest.request("PUT", "actions/no-invoker", json={"exec": {
        "kind": "blackbox", "image": "localhost/edgewhisk/python3-ai:latest"}})
    assert response.status_code == 200, response.text
    response = guest.request("POST", "actions/no-invoker?blocking=true", json={})
    assert response.status_code == 500, response.text
    record = response.json()
    assert record["response"]["status"] == "whisk internal error"
    assert record["activationId"] == response.headers["X-OW-Activation-Id"]
