"""Namespaces managed through the API (``api/admin.py``): who may, what each call changes, and
that every refusal changes nothing.

The model under test: an admin key (made on the store, ``controller namespace create NAME
--admin``) lists, creates and deletes namespaces and rotates any key; any key rotates its own;
nobody else reaches ``/api/v1/admin``. A rotated or deleted key stops working at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from edgewhisk_client import Client, HttpError

from .harness import Controller, create_action, create_namespace

ADMIN_PATH = "/api/v1/admin/namespaces"
CODE = "def main(args):\n    return {'n': args.get('n', 0)}\n"


@pytest.fixture(scope="module")
def admin_key(controller: Controller, data_dir: Path) -> str:
    return create_namespace(["--data", str(data_dir), "--admin"], "ops")


@pytest.fixture
def admin(controller: Controller, admin_key: str) -> Iterator[Client]:
    with controller.client(admin_key) as client:
        yield client


def _status(call: object) -> int:
    try:
        call()  # type: ignore[operator]
    except HttpError as error:
        return error.status
    return 200


def _names(admin: Client) -> list[str]:
    return [n["name"] for n in admin.namespace_keys.list()]


def test_an_admin_lists_every_namespace_without_secrets(admin: Client) -> None:
    listed = {n["name"]: n for n in admin.namespace_keys.list()}
    assert {"guest", "ops"} <= set(listed)
    assert listed["ops"]["admin"] is True and listed["guest"]["admin"] is False
    assert all(set(n) == {"name", "uuid", "admin"} for n in listed.values())


@pytest.mark.parametrize("method, path", [
    ("GET", ADMIN_PATH), ("PUT", f"{ADMIN_PATH}/intruder"), ("DELETE", f"{ADMIN_PATH}/guest"),
    ("POST", f"{ADMIN_PATH}/guest/key")],
    ids=["list", "create", "delete", "rotate another's key"])
def test_a_namespace_key_is_403_on_the_admin_api_and_changes_nothing(
        controller: Controller, guest: Client, admin: Client, method: str, path: str) -> None:
    before = admin.namespace_keys.list()
    response = guest.request(method, path)
    assert response.status_code == 403, response.text
    assert "needs an admin key" in response.json()["error"]
    assert admin.namespace_keys.list() == before
    assert guest.namespaces() == ["guest"], "the guest key still works"
    with Client(controller.api_host, None) as anonymous:
        assert anonymous.request(method, path).status_code == 401


def test_create_gives_a_working_key_once_and_refuses_a_second_time(
        controller: Controller, admin: Client) -> None:
    answer = admin.namespace_keys.create("team-a")
    assert answer["namespace"] == "team-a"
    with controller.client(answer["key"]) as team:
        assert team.namespaces() == ["team-a"]
    assert _status(lambda: admin.namespace_keys.create("team-a")) == 409
    assert _names(admin).count("team-a") == 1


@pytest.mark.parametrize("name, status", [("bad name!", 400), ("_reserved", 409),
                                          ("x" * 300, 400)],
                         ids=["a name with a space and !", "a reserved name",
                              "a name over 256 characters"])
def test_a_bad_namespace_name_is_refused_and_creates_nothing(admin: Client, name: str,
                                                             status: int) -> None:
    before = _names(admin)
    assert _status(lambda: admin.namespace_keys.create(name)) == status
    assert _names(admin) == before


def test_a_key_rotates_itself_and_the_old_one_stops_at_once(controller: Controller,
                                                            admin: Client) -> None:
    old = admin.namespace_keys.create("rotating")["key"]
    with controller.client(old) as team:
        assert team.namespaces() == ["rotating"]  # cached by the authenticator now
        new = team.namespace_keys.rotate_key()
        assert new["namespace"] == "rotating" and new["key"] != old
        assert new["key"].split(":")[0] == old.split(":")[0], "the uuid stays"
        assert _status(team.namespaces) == 401
    with controller.client(new["key"]) as team:
        assert team.namespaces() == ["rotating"]


def test_an_admin_rotates_another_namespaces_key(controller: Controller, admin: Client) -> None:
    old = admin.namespace_keys.create("forgetful")["key"]
    new = admin.namespace_keys.rotate_key("forgetful")["key"]
    with controller.client(old) as stale, controller.client(new) as fresh:
        assert _status(stale.namespaces) == 401
        assert fresh.namespaces() == ["forgetful"]
    assert _status(lambda: admin.namespace_keys.rotate_key("nobody-here")) == 404


def test_delete_is_refused_while_entities_remain_then_takes_key_and_records(
        controller: Controller, admin: Client) -> None:
    key = admin.namespace_keys.create("leaving")["key"]
    with controller.client(key) as team:
        create_action(team, "count", CODE)
        record = team.actions.invoke("count", {"n": 1})
        refused = team.request("DELETE", f"{ADMIN_PATH}/leaving")
        assert refused.status_code == 403, "only an admin deletes"
        with pytest.raises(HttpError) as held:
            admin.namespace_keys.delete("leaving")
        assert held.value.status == 409
        assert "still holds actions (1)" in held.value.error
        assert team.actions.get("count")["name"] == "count", "the refusal changed nothing"
        team.actions.delete("count")
        answer = admin.namespace_keys.delete("leaving")
        assert answer == {"namespace": "leaving", "deleted": {"activations": 1}}
        assert _status(team.namespaces) == 401
    assert "leaving" not in _names(admin)
    again = admin.namespace_keys.create("leaving")["key"]
    with controller.client(again) as newcomer:
        assert newcomer.activations.list() == []
        assert _status(lambda: newcomer.activations.get(record.id)) == 404


def test_an_admin_cannot_delete_its_own_namespace_or_an_unknown_one(admin: Client) -> None:
    assert _status(lambda: admin.namespace_keys.delete("ops")) == 409
    assert _status(lambda: admin.namespace_keys.delete("never-made")) == 404
    assert "ops" in _names(admin)


def test_delete_is_refused_while_packages_or_routes_remain(controller: Controller,
                                                           admin: Client) -> None:
    """Packages and API routes are ``{ns}/...`` entities too: a deleted namespace must not leave
    them behind for a namespace created later under the same name."""
    key = admin.namespace_keys.create("publisher")["key"]
    apidoc = {"namespace": "_", "gatewayBasePath": "/shop", "gatewayPath": "/items",
              "gatewayMethod": "get", "id": "API:_:/shop",
              "action": {"name": "items", "namespace": "publisher", "backendMethod": "GET",
                         "backendUrl": "http://x/api/v1/web/publisher/default/items.json",
                         "authkey": "k"}}
    with controller.client(key) as team:
        assert team.request("PUT", "packages/tools", json={}).status_code == 200
        made = team.request("POST", "/api/v1/web/whisk.system/apimgmt/createApi",
                            json={"apidoc": apidoc})
        assert made.status_code == 200, made.text
        with pytest.raises(HttpError) as held:
            admin.namespace_keys.delete("publisher")
        assert held.value.status == 409
        assert "still holds packages (1), routes (1)" in held.value.error
        assert team.request("GET", "packages/tools").status_code == 200, "nothing changed"
        assert team.request("DELETE", "packages/tools").status_code == 200
        gone = team.request("DELETE", "/api/v1/web/whisk.system/apimgmt/deleteApi",
                            params={"basepath": "/shop"})
        assert gone.status_code == 200, gone.text
    assert admin.namespace_keys.delete("publisher")["namespace"] == "publisher"


def test_namespace_routes_and_the_key_route_do_not_shadow_each_other(
        controller: Controller, admin: Client) -> None:
    """``GET /namespaces/{ns}`` (every entity), ``GET /namespaces/{ns}/limits`` and
    ``POST /namespaces/{ns}/key`` share a prefix: each answers its own request, and a GET of
    ``.../key`` is 405 (no route reads a key), not another route's answer."""
    key = admin.namespace_keys.create("prefixed")["key"]
    with controller.client(key) as team:
        assert set(team.request("GET", "/api/v1/namespaces/_").json()) == {
            "actions", "packages", "rules", "triggers"}
        assert "concurrentInvocations" in team.request(
            "GET", "/api/v1/namespaces/_/limits").json()
        assert team.request("GET", "/api/v1/namespaces/_/key").status_code == 405
        assert team.request("GET", "/api/v1/admin/namespaces").status_code == 403
        new = team.request("POST", "/api/v1/namespaces/_/key").json()["key"]
    with controller.client(new) as team:
        assert team.request("GET", "/api/v1/namespaces/prefixed/limits").status_code == 200
