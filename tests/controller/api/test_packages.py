"""Packages, bindings and shared packages through the REST API, as OpenWhisk defines them.

The expectations are apache/openwhisk's: ``apache/openwhisk:docs/packages.md`` (creating
packages, binding them, sharing them with ``--shared yes``, parameters inherited by the actions),
``WhiskPackagesApi`` in ``core/controller/.../Packages.scala`` (the checks and messages) and
``WhiskActionsApi.innerRoutes`` in ``Actions.scala`` (actions in packages and bindings).
"""

from __future__ import annotations

from typing import Any

import pytest

from .harness import Client, create_action

ECHO = "def main(args):\n    return args\n"


def _package(client: Client, name: str, **body: Any) -> dict[str, Any]:
    response = client.request("PUT", f"packages/{name}", json=body)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _result(client: Client, name: str, params: dict[str, Any] | None = None,
            namespace: str | None = None) -> dict[str, Any]:
    response = client.request("POST", f"actions/{name}?blocking=true&result=true",
                              json=params or {}, namespace=namespace)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_a_package_is_created_listed_read_with_its_actions_and_deleted(guest: Client) -> None:
    """apache/openwhisk:docs/packages.md: ``wsk package create``, ``wsk action create
    pkg/name``, ``wsk package get`` lists the package's actions; upstream's package JSON has
    ``binding: {}`` and lists summarise with ``binding: false``
    (``WhiskPackage.summaryAsJson``)."""
    created = _package(guest, "tools", parameters=[{"key": "colour", "value": "red"}],
                       annotations=[{"key": "description", "value": "my tools"}])
    assert created["binding"] == {} and created["version"] == "0.0.1"
    assert created["namespace"] == "guest" and created["publish"] is False
    inner = create_action(guest, "tools/greet", ECHO)
    assert inner["namespace"] == "guest/tools" and inner["name"] == "greet"
    create_action(guest, "tools/feed-like", ECHO, annotations=[{"key": "feed", "value": True}])
    got = guest.request("GET", "packages/tools").json()
    assert [a["name"] for a in got["actions"]] == ["greet"]
    assert [f["name"] for f in got["feeds"]] == ["feed-like"]
    assert got["parameters"] == [{"key": "colour", "value": "red"}]
    listed = {p["name"]: p for p in guest.request("GET", "packages").json()}
    assert listed["tools"]["binding"] is False
    assert [a["name"] for a in guest.request("GET", "actions/tools/").json()] == [
        "feed-like", "greet"]
    assert "greet" not in [a["name"] for a in guest.request("GET", "actions").json()]
    refused = guest.request("DELETE", "packages/tools")
    assert refused.status_code == 409
    assert refused.json()["error"] == ("Package not empty (contains 2 entities). Set force "
                                       "param or delete package contents.")
    assert guest.request("DELETE", "packages/tools?force=true").status_code == 200
    assert guest.request("GET", "actions/tools/greet").status_code == 404
    assert guest.request("GET", "packages/tools").status_code == 404


def test_parameters_merge_package_then_binding_then_action_then_invocation(
        guest: Client) -> None:
    """apache/openwhisk:docs/packages.md ("Creating and using package bindings", "Set default
    parameters for all actions in a package") and
    ``WhiskActionMetaData.resolveActionAndMergeParameters``: package < binding < action <
    invocation; the binding shows the merged parameters."""
    _package(guest, "layers", parameters=[{"key": "a", "value": "package"},
                                          {"key": "b", "value": "package"},
                                          {"key": "c", "value": "package"},
                                          {"key": "d", "value": "package"}])
    create_action(guest, "layers/show", ECHO, parameters=[{"key": "c", "value": "action"},
                                                          {"key": "d", "value": "action"}])
    bound = _package(guest, "my-layers", binding={"namespace": "_", "name": "layers"},
                     parameters=[{"key": "b", "value": "binding"},
                                 {"key": "c", "value": "binding"}])
    assert bound["binding"] == {"namespace": "guest", "name": "layers"}
    assert {"key": "binding", "value": {"namespace": "guest", "name": "layers"}} in bound[
        "annotations"]
    assert _result(guest, "my-layers/show", {"d": "invocation"}) == {
        "a": "package", "b": "binding", "c": "action", "d": "invocation"}
    assert _result(guest, "layers/show") == {"a": "package", "b": "package", "c": "action",
                                             "d": "action"}
    through = guest.request("GET", "packages/my-layers").json()
    assert [a["name"] for a in through["actions"]] == ["show"]
    assert {p["key"]: p["value"] for p in through["parameters"]} == {
        "a": "package", "b": "binding", "c": "binding", "d": "package"}


def test_a_binding_is_recorded_on_the_activation(guest: Client) -> None:
    """``ContainerProxy.constructWhiskActivation``: an action reached through a binding has the
    ``binding`` annotation, and ``path`` names where the action really lives."""
    _package(guest, "recorded")
    create_action(guest, "recorded/it", ECHO)
    _package(guest, "recorded-binding", binding={"namespace": "guest", "name": "recorded"})
    record = guest.request("POST", "actions/recorded-binding/it?blocking=true", json={}).json()
    annotations = {a["key"]: a["value"] for a in record["annotations"]}
    assert annotations["path"] == "guest/recorded/it"
    assert annotations["binding"] == "guest/recorded-binding"
    assert record["namespace"] == "guest" and record["name"] == "it"


def test_a_shared_package_is_read_bound_and_run_by_another_namespace(
        guest: Client, other: Client) -> None:
    """apache/openwhisk:docs/packages.md ("Sharing a package"): ``publish: true`` lets every
    namespace get the package, bind to it and invoke its actions; the package and its actions
    stay read-only for them, and the activation is the invoker's (``namespace``,
    ``subject``)."""
    _package(other, "shared-tools", publish=True, parameters=[{"key": "owner", "value": "other"}])
    create_action(other, "shared-tools/who", ECHO)
    got = guest.request("GET", "packages/shared-tools", namespace="other")
    assert got.status_code == 200 and [a["name"] for a in got.json()["actions"]] == ["who"]
    assert "shared-tools" in [p["name"] for p in guest.request(
        "GET", "packages", namespace="other").json()]
    response = guest.request("POST", "actions/shared-tools/who?blocking=true",
                             json={"caller": "guest"}, namespace="other")
    assert response.status_code == 200, response.text
    record = response.json()
    assert record["namespace"] == "guest" and record["subject"] == "guest"
    assert record["response"]["result"] == {"owner": "other", "caller": "guest"}
    _package(guest, "their-tools", binding={"namespace": "other", "name": "shared-tools"},
             parameters=[{"key": "owner", "value": "bound by guest"}])
    assert _result(guest, "their-tools/who") == {"owner": "bound by guest"}
    for method, path, body in (("PUT", "packages/shared-tools?overwrite=true", {}),
                               ("DELETE", "packages/shared-tools", None),
                               ("PUT", "actions/shared-tools/who?overwrite=true",
                                {"exec": {"kind": "python:3", "code": ECHO}}),
                               ("DELETE", "actions/shared-tools/who", None)):
        assert guest.request(method, path, json=body, namespace="other").status_code == 403
    assert other.request("GET", "actions/shared-tools/who").status_code == 200


def test_an_unpublished_package_is_not_reachable_from_another_namespace(
        guest: Client, other: Client) -> None:
    """Upstream's entitlement: a private package of another namespace is a 403 to read, to
    bind to and to invoke through."""
    _package(other, "private-tools")
    create_action(other, "private-tools/hidden", ECHO)
    assert guest.request("GET", "packages/private-tools", namespace="other").status_code == 403
    assert guest.request("POST", "actions/private-tools/hidden?blocking=true", json={},
                         namespace="other").status_code == 403
    bind = guest.request("PUT", "packages/private-binding",
                         json={"binding": {"namespace": "other", "name": "private-tools"}})
    assert bind.status_code == 403
    assert guest.request("GET", "packages/private-binding").status_code == 404


@pytest.mark.parametrize(
    "name, body, status, error",
    [
        ("default", {}, 400, "Package name 'default' is reserved."),
        ("bad-binding", {"binding": {"namespace": "_", "name": "no-such-package"}}, 400,
         "Binding references a package that does not exist."),
        ("binding-of-binding", {"binding": {"namespace": "_", "name": "a-binding"}}, 400,
         "Cannot bind to another package binding."),
        ("a-package", {"binding": {"namespace": "_", "name": "base"}, "publish": False}, 409,
         "Resource is a package and cannot be converted into a binding."),
        ("odd-binding", {"binding": "base"}, 400, "binding: must be an object"),
        ("odd-field", {"exec": {}}, 400, "exec: unknown field"),
    ],
    ids=["the reserved name default", "a binding to nothing", "a binding to a binding",
         "a package turned into a binding", "a binding that is no object", "an unknown field"],
)
def test_bad_packages_are_refused_with_upstream_s_messages(
        guest: Client, name: str, body: dict[str, Any], status: int, error: str) -> None:
    """``WhiskPackagesApi.create``/``checkBinding``/``update`` and their ``Messages``."""
    if guest.request("GET", "packages/base").status_code == 404:
        _package(guest, "base")
        _package(guest, "a-binding", binding={"namespace": "_", "name": "base"})
        _package(guest, "a-package")
    before = guest.request("GET", f"packages/{name}")
    response = guest.request("PUT", f"packages/{name}?overwrite=true", json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"].startswith(error)
    after = guest.request("GET", f"packages/{name}")
    assert after.status_code == before.status_code and after.json().get(
        "version") == before.json().get("version")


def test_an_action_cannot_be_put_into_a_binding_or_a_missing_package(guest: Client) -> None:
    """``WhiskActionsApi.innerRoutes``: writes through a binding are ``Operation not permitted
    on package binding.``; a package that does not exist is a 404."""
    _package(guest, "holder")
    _package(guest, "holder-binding", binding={"namespace": "guest", "name": "holder"})
    body = {"exec": {"kind": "python:3", "code": ECHO}}
    response = guest.request("PUT", "actions/holder-binding/x", json=body)
    assert response.status_code == 400
    assert response.json()["error"] == "Operation not permitted on package binding."
    assert guest.request("PUT", "actions/nowhere/x", json=body).status_code == 404
    assert guest.request("GET", "actions/holder/").json() == []


def test_one_collection_of_names_per_namespace(guest: Client) -> None:
    """Upstream keeps actions, triggers, rules and packages in one database keyed
    ``ns/name``: a name taken in one collection is a 409 ``Resource by this name exists but is
    not in this collection.`` in another, for a write and for a read."""
    create_action(guest, "taken", ECHO)
    conformance = "Resource by this name exists but is not in this collection."
    for path, body in (("triggers/taken", {}), ("packages/taken", {}),
                       ("rules/taken", {"trigger": "x", "action": "taken"})):
        response = guest.request("PUT", path, json=body)
        assert response.status_code == 409 and response.json()["error"] == conformance
    read = guest.request("GET", "triggers/taken")
    assert read.status_code == 409 and read.json()["error"] == conformance
    guest.request("PUT", "triggers/trigger-name", json={})
    response = guest.request("PUT", "actions/trigger-name",
                             json={"exec": {"kind": "python:3", "code": ECHO}})
    assert response.status_code == 409 and response.json()["error"] == conformance
    assert guest.request("GET", "actions/trigger-name").status_code == 409


def test_a_namespace_lists_all_its_entities(other: Client) -> None:
    """``GET /namespaces/{ns}`` as OpenWhisk answered it before apache/openwhisk#3167
    (``getAllInNamespace``): actions, packages, rules and triggers, each a summary list."""
    create_action(other, "in-namespace", ECHO)
    _package(other, "ns-package")
    other.request("PUT", "triggers/ns-trigger", json={})
    response = other.request("GET", "/api/v1/namespaces/_")
    assert response.status_code == 200
    everything = response.json()
    assert set(everything) == {"actions", "packages", "rules", "triggers"}
    assert "in-namespace" in [a["name"] for a in everything["actions"]]
    assert "ns-package" in [p["name"] for p in everything["packages"]]
    assert "ns-trigger" in [t["name"] for t in everything["triggers"]]
    assert all("code" not in a["exec"] for a in everything["actions"])
