"""Actions through the REST API: create, overwrite, get, list, delete, and every 400."""

from __future__ import annotations

import base64
import io
import zipfile
from typing import Any

import pytest

from .harness import Client, create_action

HELLO = "def main(args):\n    return {'greeting': 'hello ' + args.get('name', 'world')}\n"
ANNOTATION = {"version": 1, "policies": [{"type": "fn", "capability": "gpu", "strict": True}]}


def test_a_new_action_is_stored_with_upstream_defaults(guest: Client) -> None:
    doc = create_action(guest, "defaults", HELLO)
    assert doc["namespace"] == "guest" and doc["name"] == "defaults"
    assert doc["version"] == "0.0.1" and doc["publish"] is False
    assert doc["exec"] == {"kind": "python:3", "code": HELLO, "binary": False, "main": "main"}
    assert doc["limits"] == {"timeout": 60000, "memory": 256, "logs": 10, "concurrency": 1}
    assert {"key": "exec", "value": "python:3"} in doc["annotations"]
    assert {"key": "provide-api-key", "value": False} in doc["annotations"]
    assert not any(key.startswith("_") for key in doc)
    assert guest.request("GET", "actions/defaults").json() == doc


def test_creating_an_existing_action_without_overwrite_is_a_409(guest: Client) -> None:
    create_action(guest, "twice", HELLO)
    response = guest.request("PUT", "actions/twice",
                             json={"exec": {"kind": "python:3", "code": HELLO}})
    assert response.status_code == 409
    assert set(response.json()) == {"error", "code"}


def test_overwrite_bumps_the_version_and_keeps_what_the_body_leaves_out(guest: Client) -> None:
    create_action(guest, "updated", HELLO, parameters=[{"key": "name", "value": "x"}],
                  limits={"memory": 128})
    response = guest.request("PUT", "actions/updated?overwrite=true",
                             json={"limits": {"timeout": 5000}})
    assert response.status_code == 200, response.text
    doc = response.json()
    assert doc["version"] == "0.0.2"
    assert doc["exec"]["code"] == HELLO
    assert doc["parameters"] == [{"key": "name", "value": "x"}]
    assert doc["limits"] == {"timeout": 5000, "memory": 128, "logs": 10, "concurrency": 1}
    third = guest.request("PUT", "actions/updated?overwrite=true", json={"parameters": []}).json()
    assert third["version"] == "0.0.3" and third["parameters"] == []


def test_overwrite_creates_an_action_that_does_not_exist_yet(guest: Client) -> None:
    response = guest.request("PUT", "actions/fresh?overwrite=true",
                             json={"exec": {"kind": "python:3", "code": HELLO}})
    assert response.status_code == 200 and response.json()["version"] == "0.0.1"


def test_get_with_code_false_omits_the_code(guest: Client) -> None:
    create_action(guest, "codeless", HELLO)
    doc = guest.request("GET", "actions/codeless?code=false").json()
    assert "code" not in doc["exec"] and doc["exec"]["kind"] == "python:3"


def test_delete_returns_the_action_and_then_it_is_gone(guest: Client) -> None:
    created = create_action(guest, "doomed", HELLO)
    response = guest.request("DELETE", "actions/doomed")
    assert response.status_code == 200 and response.json() == created
    assert guest.request("GET", "actions/doomed").status_code == 404
    assert guest.request("DELETE", "actions/doomed").status_code == 404


def test_unknown_actions_are_404_with_the_error_shape(guest: Client) -> None:
    """OpenWhisk answers a missing entity with exactly ``Messages.resourceDoesNotExist``
    (``ApiUtils.getEntity``: ``terminate(NotFound)``); clients compare that text."""
    response = guest.request("GET", "actions/nobody")
    assert response.status_code == 404
    body = response.json()
    assert body == {"error": "The requested resource does not exist.", "code": body["code"]}
    assert response.headers["X-Request-ID"] == body["code"]


def test_list_pages_with_limit_and_skip_and_omits_the_code(other: Client) -> None:
    names = [f"listed-{i:02d}" for i in range(35)]
    for name in names:
        create_action(other, name, HELLO)
    default = other.request("GET", "actions").json()
    assert [a["name"] for a in default] == names[:30]  # upstream's default limit is 30
    assert all("code" not in a["exec"] for a in default)
    assert default[0]["exec"] == {"kind": "python:3", "binary": False}
    page = other.request("GET", "actions?limit=5&skip=10").json()
    assert [a["name"] for a in page] == names[10:15]
    assert [a["name"] for a in other.request("GET", "actions?limit=0").json()] == names
    assert other.request("GET", "actions?count=true").json() == {"actions": 35}


@pytest.mark.parametrize(
    "query, field",
    [
        ("limit=201", "limit"),
        ("limit=-1", "limit"),
        ("limit=ten", "limit"),
        ("skip=-3", "skip"),
    ],
    ids=["a limit over 200", "a negative limit", "a limit that is no number", "a negative skip"],
)
def test_bad_paging_is_a_400_naming_the_parameter(guest: Client, query: str, field: str) -> None:
    response = guest.request("GET", f"actions?{query}")
    assert response.status_code == 400 and response.json()["error"].startswith(field)


def _zip(source: str) -> str:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("__main__.py", source)
    return base64.b64encode(buffer.getvalue()).decode()


def test_a_zipped_action_is_recognised_as_binary_without_being_told(guest: Client) -> None:
    code = _zip(HELLO)
    doc = guest.request("PUT", "actions/zipped",
                        json={"exec": {"kind": "python:3", "code": code}}).json()
    assert doc["exec"]["binary"] is True


@pytest.mark.parametrize(
    "exec_, kind",
    [
        ({"kind": "blackbox", "image": "localhost/edgewhisk/python3-ai:latest"}, "blackbox"),
        ({"kind": "nodejs:default", "code": "function main(p) { return p }"}, "nodejs:default"),
        ({"kind": "nodejs:20", "code": "function main(p) { return p }"}, "nodejs:default"),
        ({"kind": "python:default", "code": HELLO}, "python:3"),
    ],
    ids=["a blackbox image", "a node conductor", "a node version alias", "python's default"],
)
def test_every_supported_kind_is_accepted(guest: Client, exec_: dict[str, Any],
                                          kind: str) -> None:
    name = "kind-" + exec_["kind"].replace(":", "-")
    response = guest.request("PUT", f"actions/{name}?overwrite=true", json={"exec": exec_})
    assert response.status_code == 200, response.text
    assert response.json()["exec"]["kind"] == kind


@pytest.mark.parametrize(
    "body, field",
    [
        ({"exec": {"kind": "python:3", "code": HELLO}, "limits": {"timeout": 99}},
         "limits.timeout"),
        ({"exec": {"kind": "python:3", "code": HELLO}, "limits": {"timeout": 300001}},
         "limits.timeout"),
        ({"exec": {"kind": "python:3", "code": HELLO}, "limits": {"memory": 127}},
         "limits.memory"),
        ({"exec": {"kind": "python:3", "code": HELLO}, "limits": {"memory": 513}},
         "limits.memory"),
        ({"exec": {"kind": "python:3", "code": HELLO}, "limits": {"logs": 11}}, "limits.logs"),
        ({"exec": {"kind": "python:3", "code": HELLO}, "limits": {"concurrency": 0}},
         "limits.concurrency"),
        ({"exec": {"kind": "python:3", "code": HELLO}, "limits": {"concurrency": 501}},
         "limits.concurrency"),
        ({"exec": {"kind": "python:3", "code": HELLO}, "limits": {"memory": "256"}},
         "limits.memory"),
        ({"exec": {"kind": "python:3", "code": HELLO}, "limits": {"cpu": 2}}, "limits.cpu"),
        ({"exec": {"kind": "python:3", "code": HELLO}, "colour": "red"}, "colour"),
        ({}, "exec"),
        ({"exec": {"kind": "python:3"}}, "exec.code"),
        ({"exec": {"kind": "cobol:85", "code": "x"}}, "exec.kind"),
        ({"exec": {"kind": "blackbox"}}, "exec.image"),
        ({"exec": {"kind": "python:3", "code": HELLO, "image": "x"}}, "exec.image"),
        ({"exec": {"kind": "python:3", "code": HELLO, "main": ""}}, "exec.main"),
        ({"exec": {"kind": "python:3", "code": HELLO, "binary": "yes"}}, "exec.binary"),
        ({"exec": {"kind": "python:3", "code": HELLO, "components": []}}, "exec.components"),
        ({"exec": {"kind": "python:3", "code": HELLO}, "parameters": {"a": 1}}, "parameters"),
        ({"exec": {"kind": "python:3", "code": HELLO}, "parameters": [{"value": 1}]},
         "parameters[0].key"),
        ({"exec": {"kind": "python:3", "code": HELLO}, "annotations": [{"key": "a"}]},
         "annotations[0].value"),
        ({"exec": {"kind": "python:3", "code": HELLO}, "publish": "no"}, "publish"),
        ({"exec": {"kind": "python:3", "code": HELLO}, "name": "somebody-else"}, "name"),
    ],
    ids=[
        "a timeout under 100 ms", "a timeout over 300 s", "memory under 128 MB",
        "memory over 512 MB", "logs over 10 MB", "a concurrency of 0", "a concurrency over 500",
        "a limit given as a string", "an unknown limit", "an unknown top-level field",
        "no exec at all", "python without code", "an unknown kind", "a blackbox without image",
        "an image on a python action", "an empty main", "a binary flag that is no boolean",
        "an unknown exec field", "parameters as an object", "a parameter without key",
        "an annotation without value", "publish that is no boolean",
        "a body naming another action",
    ],
)
def test_an_invalid_action_is_a_400_naming_the_field(guest: Client, body: dict[str, Any],
                                                      field: str) -> None:
    response = guest.request("PUT", "actions/invalid", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"].startswith(field), response.json()
    assert guest.request("GET", "actions/invalid").status_code == 404


@pytest.mark.parametrize(
    "name",
    ["-leading-dash", "trailing space ", "semi;colon", "x" * 257, "café"],
    ids=["a leading dash", "a trailing space", "a semicolon", "257 characters", "non-ASCII"],
)
def test_an_invalid_name_is_a_400(guest: Client, name: str) -> None:
    response = guest.request("PUT", f"actions/{name}",
                             json={"exec": {"kind": "python:3", "code": HELLO}})
    assert response.status_code == 400 and response.json()["error"].startswith("name")


@pytest.mark.parametrize(
    "annotation, path",
    [
        ({"policies": []}, "annotations.edgewhisk.version"),
        ({"version": 1, "consumes": [{"kind": "table", "ref": "x"}]},
         "annotations.edgewhisk.consumes[0].kind"),
        ({"version": 1, "policies": [{"type": "deadline"}]},
         "annotations.edgewhisk.policies[0].within"),
        ("not a mapping", "annotations.edgewhisk"),
    ],
    ids=["no version", "an unknown artifact kind", "a deadline without within",
         "a string instead of a mapping"],
)
def test_an_invalid_edgewhisk_annotation_is_a_400_naming_the_path(
    guest: Client, annotation: Any, path: str
) -> None:
    body: dict[str, Any] = {"exec": {"kind": "python:3", "code": HELLO},
                            "annotations": [{"key": "edgewhisk", "value": annotation}]}
    response = guest.request("PUT", "actions/annotated-badly", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"].startswith(path + ":"), response.json()


def test_hard_capabilities_become_invoker_resources(guest: Client) -> None:
    doc = create_action(guest, "gpu-bound", HELLO,
                        annotations=[{"key": "edgewhisk", "value": ANNOTATION}])
    assert {"key": "invoker-resources", "value": ["gpu"]} in doc["annotations"]
    stored = [a["value"] for a in doc["annotations"] if a["key"] == "edgewhisk"]
    assert stored[0]["version"] == 1 and stored[0]["policies"][0]["capability"] == "gpu"


def test_invoker_resources_set_by_the_user_are_kept(guest: Client) -> None:
    doc = create_action(guest, "user-tagged", HELLO, annotations=[
        {"key": "edgewhisk", "value": ANNOTATION},
        {"key": "invoker-resources", "value": ["tpu"]},
    ])
    assert [a["value"] for a in doc["annotations"] if a["key"] == "invoker-resources"] == [["tpu"]]


def test_parameters_over_one_mebibyte_are_a_413(guest: Client) -> None:
    body: dict[str, Any] = {"exec": {"kind": "python:3", "code": HELLO},
                            "parameters": [{"key": "big", "value": "x" * (1024 * 1024)}]}
    response = guest.request("PUT", "actions/heavy", json=body)
    assert response.status_code == 413 and "parameters" in response.json()["error"]
