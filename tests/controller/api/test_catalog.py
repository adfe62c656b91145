"""The ``/whisk.system`` catalog and the feeds it offers, through the REST API.

Expectations: apache/openwhisk-catalog's ``utils`` package (each action's documented output),
apache/openwhisk:docs/actions.md ("Creating action sequences" uses ``/whisk.system/utils``'s
``split`` and ``sort``), apache/openwhisk:docs/feeds.md (the feed action's lifecycle) and
apache/openwhisk-package-alarms (``alarm``/``interval``/``once`` and their parameters).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from .harness import Client, Controller, create_action

SYSTEM = "whisk.system"
RECORD = "def main(args):\n    return args\n"


def _run(client: Client, name: str, params: dict[str, Any]) -> Any:
    response = client.request("POST", f"actions/utils/{name}?blocking=true&result=true",
                              json=params, namespace=SYSTEM)
    assert response.status_code in (200, 502), response.text
    return response.json()


@pytest.mark.parametrize(
    "name, params, expected",
    [
        ("echo", {"a": 1}, {"a": 1}),
        ("cat", {"lines": ["a", "b"]}, {"lines": ["a", "b"], "payload": "a\nb"}),
        ("head", {"lines": ["a", "b", "c"], "num": 2}, {"lines": ["a", "b"], "num": 2}),
        ("head", {"lines": ["a", "b"]}, {"lines": ["a"], "num": 1}),
        ("sort", {"lines": ["b", "c", "a"]}, {"lines": ["a", "b", "c"], "length": 3}),
        ("split", {"payload": "x\ny"}, {"lines": ["x", "y"], "payload": "x\ny"}),
        ("split", {"payload": "x,y", "separator": ","}, {"lines": ["x", "y"],
                                                         "payload": "x,y"}),
        ("smash", {"$fieldName": "nest", "a": 1}, {"nest": {"a": 1}}),
        ("smash", {"a": 1}, {"error": "Expected an argument '$fieldName' of type 'string'."}),
        ("namespace", {}, {"namespace": "guest"}),
    ],
    ids=["echo returns its input", "cat joins lines", "head takes num lines",
         "head takes one line by default", "sort sorts lines", "split splits at line breaks",
         "split splits at a separator", "smash nests under $fieldName",
         "smash without $fieldName is an error", "namespace is the caller's"],
)
def test_the_utils_package_answers_as_the_openwhisk_catalog(
        guest: Client, name: str, params: dict[str, Any], expected: Any) -> None:
    assert _run(guest, name, params) == expected


def test_utils_date_is_now(guest: Client) -> None:
    date = _run(guest, "date", {})["date"]
    assert date.endswith("Z") and time.strftime("%Y-%m-%dT", time.gmtime()) in date


def test_the_catalog_is_shared_and_read_only(guest: Client) -> None:
    """Every namespace sees ``/whisk.system``'s published packages and their actions and
    feeds; none may change them."""
    names = {p["name"] for p in guest.request("GET", "packages", namespace=SYSTEM).json()}
    assert {"utils", "alarms"} <= names
    alarms = guest.request("GET", "packages/alarms", namespace=SYSTEM).json()
    assert {f["name"] for f in alarms["feeds"]} == {"alarm", "interval", "once"}
    utils = guest.request("GET", "packages/utils", namespace=SYSTEM).json()
    assert {"echo", "cat", "head", "sort", "split", "smash", "date"} <= {
        a["name"] for a in utils["actions"]}
    assert guest.request("DELETE", "actions/utils/echo", namespace=SYSTEM).status_code == 403
    assert guest.request("PUT", "packages/utils?overwrite=true", json={},
                         namespace=SYSTEM).status_code == 403


def test_a_sequence_of_catalog_actions_as_the_openwhisk_docs_build_it(guest: Client) -> None:
    """apache/openwhisk:docs/actions.md: ``wsk action create sequenceAction --sequence
    /whisk.system/utils/split,/whisk.system/utils/sort``."""
    response = guest.request("PUT", "actions/split-and-sort", json={"exec": {
        "kind": "sequence", "components": ["/whisk.system/utils/split",
                                           "/whisk.system/utils/sort"]}})
    assert response.status_code == 200, response.text
    result = guest.request("POST", "actions/split-and-sort?blocking=true&result=true",
                           json={"payload": "Over-ripe sushi,\nThe Master\nIs full of regret."})
    assert result.json() == {"length": 3, "lines": ["Is full of regret.", "Over-ripe sushi,",
                                                    "The Master"]}


def _activations(client: Client, name: str, after_ms: int = 0) -> list[dict[str, Any]]:
    return [a for a in client.request("GET", f"activations?name={name}&limit=200&docs=true")
            .json() if a["start"] > after_ms]


def _wait(client: Client, name: str, count: int, after_ms: int = 0,
          timeout_s: float = 60) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = _activations(client, name, after_ms)
        if len(found) >= count:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{name}: fewer than {count} activations in {timeout_s} s")


def test_a_trigger_created_with_a_feed_and_parameters_gets_its_lifecycle(
        guest: Client) -> None:
    """For a client that does not call the feed itself (plain HTTP, the JS client's
    ``triggers.create``), the controller sends what ``wsk trigger create --feed`` would: the
    feed action's CREATE with the parameters (which are the feed's: the trigger keeps none),
    and DELETE when the trigger is deleted. A ``once`` alarm fires once, then ends, and
    ``deleteAfterFire: rules`` deletes the trigger's rules."""
    create_action(guest, "on-once", RECORD)
    fire_at = int(time.time() * 1000) + 5000  # after the feed action's cold start
    response = guest.request("PUT", "triggers/once-soon", json={
        "annotations": [{"key": "feed", "value": "/whisk.system/alarms/once"}],
        "parameters": [{"key": "date", "value": fire_at}, {"key": "deleteAfterFire",
                                                            "value": "rules"},
                       {"key": "trigger_payload", "value": {"hello": "once"}}]})
    assert response.status_code == 200, response.text
    assert response.json()["parameters"] == []
    guest.request("PUT", "rules/once-rule", json={"trigger": "once-soon", "action": "on-once"})
    assert guest.request("GET", "alarms/once-soon").json()["config"]["date"] == fire_at
    fired = _wait(guest, "on-once", 1)
    assert fired[0]["response"]["result"] == {"hello": "once"}
    deadline = time.monotonic() + 30  # the alarm ends right after it fired, not before
    while guest.request("GET", "rules/once-rule").status_code != 404:  # deleteAfterFire: rules
        assert time.monotonic() < deadline, "the once alarm's rules were not deleted"
        time.sleep(0.1)
    assert guest.request("GET", "alarms/once-soon").status_code == 404  # a once alarm ends
    assert guest.request("GET", "triggers/once-soon").json()["rules"] == {}
    guest.request("PUT", "triggers/ticking", json={
        "annotations": [{"key": "feed", "value": "/whisk.system/alarms/interval"}],
        "parameters": [{"key": "minutes", "value": 5}]})
    assert guest.request("GET", "alarms/ticking").status_code == 200
    assert guest.request("DELETE", "triggers/ticking").status_code == 200
    assert guest.request("GET", "alarms/ticking").status_code == 404


@pytest.mark.parametrize(
    "feed, parameters, reason",
    [
        ("/whisk.system/alarms/alarm", {"cron": "every minute"}, "cron: must be a cron pattern"),
        ("/whisk.system/alarms/alarm", {"cron": "61 * * * *"}, "is not a valid cron pattern"),
        ("/whisk.system/alarms/interval", {"minutes": 0}, "minutes: must be an integer"),
        ("/whisk.system/alarms/once", {"date": "tomorrow"}, "date: 'tomorrow' is not a date"),
        ("/whisk.system/alarms/once", {"date": 1000}, "date: must be in the future"),
        ("/whisk.system/alarms/interval", {"minutes": 1, "startDate": "2030-01-01T00:00:00Z",
                                           "stopDate": "2029-01-01T00:00:00Z"},
         "stopDate: must be after startDate"),
        ("/whisk.system/alarms/alarm", {"cron": "* * * * *", "colour": "red"},
         "colour: unknown field"),
    ],
    ids=["a cron that is no pattern", "a cron out of range", "an interval of zero",
         "a date that is no date", "a date in the past", "a stop before the start",
         "an unknown parameter"],
)
def test_a_feed_that_refuses_its_parameters_leaves_no_trigger(
        guest: Client, feed: str, parameters: dict[str, Any], reason: str) -> None:
    """``wsk trigger create --feed`` deletes the trigger when the feed action fails; the
    answer names the feed and its reason."""
    body = {"annotations": [{"key": "feed", "value": feed}],
            "parameters": [{"key": k, "value": v} for k, v in parameters.items()]}
    response = guest.request("PUT", "triggers/refused", json=body)
    assert response.status_code == 502, response.text
    error = response.json()["error"]
    assert error.startswith(f"Unable to configure feed '{feed}': ") and reason in error
    assert guest.request("GET", "triggers/refused").status_code == 404


def test_a_feed_that_does_not_exist_is_a_400(guest: Client) -> None:
    response = guest.request("PUT", "triggers/no-feed", json={
        "annotations": [{"key": "feed", "value": "/whisk.system/alarms/never"}],
        "parameters": [{"key": "minutes", "value": 1}]})
    assert response.status_code == 400 and response.json()["error"].startswith(
        "annotations.feed")
    assert guest.request("GET", "triggers/no-feed").status_code == 404


def test_an_alarm_survives_a_restart_and_fires_again_after_it(tmp_path: Path) -> None:
    """The schedule is durable in the store: a controller started again on the same data
    fires the trigger again, and the alarm's count goes on."""
    data = tmp_path / "data"
    with Controller(data).start() as first, first.client() as guest:
        create_action(guest, "durable-target", RECORD)
        guest.request("PUT", "triggers/durable", json={
            "annotations": [{"key": "feed", "value": "/whisk.system/alarms/interval"}],
            "parameters": [{"key": "seconds", "value": 1}]})
        guest.request("PUT", "rules/durable-rule",
                      json={"trigger": "durable", "action": "durable-target"})
        _wait(guest, "durable-target", 1)
        fired_before = guest.request("GET", "alarms/durable").json()["status"]["fired"]
    restarted_ms = int(time.time() * 1000)
    with Controller(data).start() as second, second.client() as guest:
        after = _wait(guest, "durable-target", 2, after_ms=restarted_ms)
        assert all(a["response"]["success"] for a in after)
        status = guest.request("GET", "alarms/durable").json()["status"]
        assert status["active"] is True and status["fired"] >= fired_before + 2
        assert guest.request("DELETE", "triggers/durable").status_code == 200
