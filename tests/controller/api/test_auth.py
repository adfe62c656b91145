"""Authentication and isolation, endpoint by endpoint.

Every endpoint under ``/api/v1/`` answers 401 without credentials or with a wrong key, and
403 when a key names another namespace in the path; nothing the refused request asked for
happens. Through ``_`` a key reaches only its own namespace's entities.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import edgewhisk
import pytest
import requests
from edgewhisk_client import API, NAMESPACES

from .harness import GUEST_KEY, Client, Controller, create_action

CODE = "def main(args):\n    return {'owner': 'other'}\n"

# (method, path under /namespaces/{ns}/, JSON body); {id} is an activation of ``other``.
ENDPOINTS: list[tuple[str, str, Any]] = [
    ("GET", "actions", None),
    ("PUT", "actions/secret?overwrite=true", {"exec": {"kind": "python:3", "code": "x=1"}}),
    ("GET", "actions/secret", None),
    ("POST", "actions/secret?blocking=true", {}),
    ("DELETE", "actions/secret", None),
    ("GET", "activations", None),
    ("GET", "activations/{id}", None),
    ("GET", "activations/{id}/result", None),
    ("GET", "activations/{id}/logs", None),
    ("GET", "triggers", None),
    ("PUT", "triggers/secret-trigger?overwrite=true", {}),
    ("GET", "triggers/secret-trigger", None),
    ("POST", "triggers/secret-trigger", {}),
    ("DELETE", "triggers/secret-trigger", None),
    ("GET", "rules", None),
    ("PUT", "rules/secret-rule?overwrite=true",
     {"trigger": "/other/secret-trigger", "action": "/other/secret"}),
    ("GET", "rules/secret-rule", None),
    ("POST", "rules/secret-rule", {"status": "inactive"}),
    ("DELETE", "rules/secret-rule", None),
    ("PUT", "packages/secret-package?overwrite=true", {"publish": True}),
    ("GET", "packages/secret-package", None),
    ("DELETE", "packages/secret-package?force=true", None),
    ("GET", "actions/secret-package/", None),
    ("PUT", "actions/secret-package/inner?overwrite=true",
     {"exec": {"kind": "python:3", "code": "x=1"}}),
    ("GET", "actions/secret-package/inner", None),
    ("POST", "actions/secret-package/inner?blocking=true", {}),
    ("DELETE", "actions/secret-package/inner", None),
    ("GET", "limits", None),
    ("GET", "/api/v1/namespaces/{ns}", None),
]
IDS = [f"{method} {path.split('?')[0]}" for method, path, _ in ENDPOINTS]

UUID, _, KEY = GUEST_KEY.partition(":")
BAD_CREDENTIALS = {
    "no credentials": None,
    "a wrong key": "Basic " + base64.b64encode(f"{UUID}:{KEY[:-1]}x".encode()).decode(),
    "an unknown uuid": "Basic " + base64.b64encode(f"00000000-0000:{KEY}".encode()).decode(),
    "a key without colon": "Basic " + base64.b64encode(KEY.encode()).decode(),
    "a header that is no base64": "Basic %%%",
    "another scheme": "Bearer " + KEY,
}


@pytest.fixture(scope="module")
def owned(controller: Controller, other_key: str) -> Iterator[dict[str, Any]]:
    """``other`` owns an action, a trigger, a rule, an unpublished package with an action and
    an activation."""
    with controller.client(other_key) as client:
        create_action(client, "secret", CODE)
        assert client.request("PUT", "triggers/secret-trigger", json={}).status_code == 200
        rule = {"trigger": "/other/secret-trigger", "action": "/other/secret"}
        assert client.request("PUT", "rules/secret-rule", json=rule).status_code == 200
        assert client.request("PUT", "packages/secret-package", json={}).status_code == 200
        create_action(client, "secret-package/inner", CODE)
        record = client.request("POST", "actions/secret?blocking=true", json={}).json()
        yield {"id": record["activationId"], "state": _state(client)}


def _state(client: Client) -> dict[str, Any]:
    return {path: client.request("GET", path).json() for path in (
        "actions/secret", "triggers/secret-trigger", "rules/secret-rule", "actions", "activations",
        "packages/secret-package", "actions/secret-package/inner")}


def _send(controller: Controller, method: str, path: str, body: Any,
          headers: dict[str, str], namespace: str) -> requests.Response:
    """``method path`` in ``namespace`` with exactly these headers (no key of the client's)."""
    with Client(controller.api_host, None) as anonymous:
        return anonymous.request(method, path, namespace=namespace, json=body, headers=headers)


@pytest.mark.parametrize("credentials", list(BAD_CREDENTIALS), ids=list(BAD_CREDENTIALS))
@pytest.mark.parametrize("method, path, body", ENDPOINTS, ids=IDS)
def test_bad_credentials_are_401_on_every_endpoint(
    controller: Controller, owned: dict[str, Any], method: str, path: str, body: Any,
    credentials: str,
) -> None:
    header = BAD_CREDENTIALS[credentials]
    headers = {} if header is None else {"Authorization": header}
    for ns in ("_", "other"):
        response = _send(controller, method, path.format(id=owned["id"], ns=ns), body, headers,
                         ns)
        assert response.status_code == 401, response.text
        assert set(response.json()) == {"error", "code"}


def test_bad_credentials_are_401_on_the_namespace_list(controller: Controller) -> None:
    for header in BAD_CREDENTIALS.values():
        headers = {} if header is None else {"Authorization": header}
        with Client(controller.api_host, None) as anonymous:
            response = anonymous.request("GET", NAMESPACES, headers=headers)
        assert response.status_code == 401


@pytest.mark.parametrize("method, path, body", ENDPOINTS, ids=IDS)
def test_another_namespace_in_the_path_is_403_and_changes_nothing(
    controller: Controller, owned: dict[str, Any], other: Client, method: str, path: str,
    body: Any,
) -> None:
    with controller.client() as guest:
        target = path.format(id=owned["id"], ns="other")
        response = guest.request(method, target, namespace="other", json=body)
    assert response.status_code == 403, response.text
    assert set(response.json()) == {"error", "code"}
    assert _state(other) == owned["state"]


@pytest.mark.parametrize(
    "path",
    ["actions/secret", "triggers/secret-trigger", "rules/secret-rule", "activations/{id}",
     "activations/{id}/logs", "packages/secret-package", "actions/secret-package/inner"],
    ids=["an action", "a trigger", "a rule", "an activation", "activation logs", "a package",
         "an action in a package"],
)
def test_through_underscore_a_key_never_sees_another_namespace(
    guest: Client, owned: dict[str, Any], path: str
) -> None:
    assert guest.request("GET", path.format(id=owned["id"])).status_code == 404


@pytest.mark.parametrize("collection", ["actions", "triggers", "rules", "activations",
                                        "packages"])
def test_listings_show_only_the_key_s_own_namespace(guest: Client, owned: dict[str, Any],
                                                    collection: str) -> None:
    assert all(item["namespace"] == "guest" for item in guest.request("GET", collection).json())


def test_another_namespace_s_package_list_shows_only_what_it_published(
        guest: Client, other: Client, owned: dict[str, Any]) -> None:
    """OpenWhisk's ``WhiskPackagesApi.list`` answers another namespace with its public
    packages view; an unpublished package is not in it."""
    listed = guest.request("GET", "packages", namespace="other")
    assert listed.status_code == 200 and listed.json() == []
    assert guest.request("GET", "packages?count=true", namespace="other").json() == {
        "packages": 0}


def test_the_namespace_list_names_the_key_s_own(guest: Client, other: Client) -> None:
    assert guest.namespaces() == ["guest"]
    assert other.namespaces() == ["other"]


def test_the_explicit_own_namespace_works_like_underscore(other: Client,
                                                          owned: dict[str, Any]) -> None:
    response = other.request("GET", "actions/secret", namespace="other")
    assert response.status_code == 200 and response.json()["namespace"] == "other"


def test_ping_and_the_api_description_need_no_key(controller: Controller) -> None:
    with Client(controller.api_host, None) as anonymous:
        assert anonymous.request("GET", "/ping").text == "pong"
        info = anonymous.request("GET", API)
    assert info.status_code == 200 and info.json()["api_version_path"] == "v1"
    assert info.json()["build"] == edgewhisk.__version__
