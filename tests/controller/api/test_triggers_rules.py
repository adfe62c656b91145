"""Triggers and rules: CRUD, the trigger's ``rules`` map kept in sync, and the fire path."""

from __future__ import annotations

import time
from typing import Any

import pytest

from .harness import Client, create_action

RECORD = "def main(args):\n    return {'seen': args}\n"


def _activations_of(client: Client, name: str, count: int,
                    timeout_s: float = 60.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        listed = client.request("GET", f"activations?name={name}&docs=true").json()
        if len(listed) >= count:
            return listed  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError(f"{name}: fewer than {count} activations after {timeout_s}s")


def _ensure_action(client: Client, name: str) -> None:
    if client.request("GET", f"actions/{name}").status_code == 404:
        create_action(client, name, RECORD)


def test_trigger_crud_and_overwrite(guest: Client) -> None:
    body = {"parameters": [{"key": "colour", "value": "red"}],
            "annotations": [{"key": "description", "value": "d"}]}
    created = guest.request("PUT", "triggers/crud", json=body)
    assert created.status_code == 200, created.text
    doc = created.json()
    assert doc["namespace"] == "guest" and doc["version"] == "0.0.1"
    assert doc["parameters"] == body["parameters"] and doc["rules"] == {} and doc["limits"] == {}
    assert guest.request("PUT", "triggers/crud", json=body).status_code == 409
    updated = guest.request("PUT", "triggers/crud?overwrite=true", json={"parameters": []}).json()
    assert updated["version"] == "0.0.2" and updated["annotations"] == body["annotations"]
    assert guest.request("GET", "triggers/crud").json() == updated
    assert "crud" in [t["name"] for t in guest.request("GET", "triggers").json()]
    assert guest.request("DELETE", "triggers/crud").json() == updated
    assert guest.request("GET", "triggers/crud").status_code == 404


@pytest.mark.parametrize(
    "body, field",
    [({"feed": "/whisk.system/alarms/alarm"}, "feed"), ({"limits": {"timeout": 1}}, "limits"),
     ({"parameters": "x"}, "parameters"), ({"extra": 1}, "extra")],
    ids=["a feed", "limits", "parameters that are no list", "an unknown field"],
)
def test_an_invalid_trigger_is_a_400_naming_the_field(guest: Client, body: dict[str, Any],
                                                       field: str) -> None:
    response = guest.request("PUT", "triggers/invalid", json=body)
    assert response.status_code == 400 and response.json()["error"].startswith(field)


def test_firing_a_trigger_invokes_its_active_rules_actions(guest: Client) -> None:
    create_action(guest, "fired-a", RECORD, parameters=[{"key": "from", "value": "action"}])
    create_action(guest, "fired-b", RECORD)
    guest.request("PUT", "triggers/fire-me", json={"parameters": [{"key": "t", "value": 1}]})
    for rule, action in (("rule-a", "fired-a"), ("rule-b", "/_/fired-b")):
        response = guest.request("PUT", f"rules/{rule}",
                                 json={"trigger": "/_/fire-me", "action": action})
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "active"
    trigger = guest.request("GET", "triggers/fire-me").json()
    assert trigger["rules"] == {
        "guest/rule-a": {"action": {"name": "fired-a", "path": "guest"}, "status": "active"},
        "guest/rule-b": {"action": {"name": "fired-b", "path": "guest"}, "status": "active"},
    }
    fired = guest.request("POST", "triggers/fire-me", json={"event": "x"})
    assert fired.status_code == 202, fired.text
    trigger_id = fired.json()["activationId"]
    assert fired.headers["X-OW-Activation-Id"] == trigger_id
    assert guest.activations.wait(trigger_id)["name"] == "fire-me"
    a = _activations_of(guest, "fired-a", 1)[0]
    b = _activations_of(guest, "fired-b", 1)[0]
    assert a["cause"] == trigger_id and b["cause"] == trigger_id
    assert a["response"]["result"]["seen"] == {"from": "action", "t": 1, "event": "x"}


def test_disabling_enabling_and_deleting_rules_keep_the_trigger_in_sync(guest: Client) -> None:
    create_action(guest, "toggled", RECORD)
    guest.request("PUT", "triggers/toggle", json={})
    guest.request("PUT", "rules/toggler",
                  json={"trigger": "/guest/toggle", "action": "/guest/toggled"})
    disabled = guest.request("POST", "rules/toggler", json={"status": "inactive"})
    assert disabled.status_code == 200 and disabled.json()["status"] == "inactive"
    assert guest.request("GET", "rules/toggler").json()["status"] == "inactive"
    trigger = guest.request("GET", "triggers/toggle").json()
    assert trigger["rules"]["guest/toggler"]["status"] == "inactive"
    fired = guest.request("POST", "triggers/toggle", json={})
    assert fired.status_code == 204  # nothing active: upstream
    assert guest.request("POST", "rules/toggler", json={"status": "active"}).status_code == 200
    assert guest.request("POST", "triggers/toggle", json={}).status_code == 202
    _activations_of(guest, "toggled", 1)
    assert guest.request("DELETE", "rules/toggler").status_code == 200
    assert guest.request("GET", "triggers/toggle").json()["rules"] == {}
    assert guest.request("GET", "rules/toggler").status_code == 404


def test_overwriting_a_rule_moves_it_to_its_new_trigger(guest: Client) -> None:
    create_action(guest, "moved", RECORD)
    guest.request("PUT", "triggers/from", json={})
    guest.request("PUT", "triggers/to", json={})
    guest.request("PUT", "rules/mover", json={"trigger": "from", "action": "moved"})
    response = guest.request("PUT", "rules/mover?overwrite=true", json={"trigger": "/_/to"})
    assert response.status_code == 200 and response.json()["trigger"]["name"] == "to"
    assert guest.request("GET", "triggers/from").json()["rules"] == {}
    assert list(guest.request("GET", "triggers/to").json()["rules"]) == ["guest/mover"]
    assert guest.request("PUT", "rules/mover",
                         json={"trigger": "to", "action": "moved"}).status_code == 409
    assert "mover" in [r["name"] for r in guest.request("GET", "rules").json()]


@pytest.mark.parametrize(
    "body, status, text",
    [
        ({"trigger": "/_/nothing", "action": "/_/moved"}, 404,
         "trigger /guest/nothing does not exist"),
        ({"trigger": "/_/to", "action": "/_/nothing"}, 404, "action /guest/nothing does not exist"),
        ({"action": "/_/moved"}, 400, "trigger"),
        ({"trigger": "/_/to", "action": "/other/moved"}, 403, "action"),
        ({"trigger": "/_/to", "action": "/_/pkg/moved"}, 404,
         "action /guest/pkg/moved does not exist"),
        ({"trigger": "/_/to", "action": "/_/moved", "status": "paused"}, 400, "status"),
    ],
    ids=["a missing trigger", "a missing action", "no trigger", "another namespace's action",
         "an action of a package that does not exist", "an unknown status"],
)
def test_bad_rules_are_refused(guest: Client, body: dict[str, Any], status: int,
                               text: str) -> None:
    _ensure_action(guest, "moved")
    guest.request("PUT", "triggers/to?overwrite=true", json={})
    response = guest.request("PUT", "rules/bad", json=body)
    assert response.status_code == status, response.text
    assert text in response.json()["error"]
    assert guest.request("GET", "rules/bad").status_code == 404


def test_a_status_change_needs_active_or_inactive(guest: Client) -> None:
    _ensure_action(guest, "moved")
    guest.request("PUT", "triggers/st?overwrite=true", json={})
    guest.request("PUT", "rules/st", json={"trigger": "st", "action": "moved"})
    assert guest.request("POST", "rules/st", json={"status": "on"}).status_code == 400
    assert guest.request("POST", "rules/st", json={}).status_code == 400
    assert guest.request("POST", "rules/nobody", json={"status": "active"}).status_code == 404


def test_firing_an_unknown_trigger_is_a_404_and_a_huge_payload_a_413(guest: Client) -> None:
    assert guest.request("POST", "triggers/unknown", json={}).status_code == 404
    guest.request("PUT", "triggers/big?overwrite=true", json={})
    response = guest.request("POST", "triggers/big", json={"x": "y" * (1024 * 1024)})
    assert response.status_code == 413


def test_bodies_shaped_like_the_wsk_cli_s_are_accepted(guest: Client) -> None:
    # The Go client always sends a rule's "status" (empty unless set) and names the entity.
    _ensure_action(guest, "moved")
    trigger = {"namespace": "guest", "name": "wsk-t", "publish": False, "annotations": []}
    assert guest.request("PUT", "triggers/wsk-t", json=trigger).status_code == 200
    rule = {"namespace": "guest", "name": "wsk-r", "status": "", "trigger": "/guest/wsk-t",
            "action": "/guest/moved", "publish": False}
    response = guest.request("PUT", "rules/wsk-r", json=rule)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "active"
