"""What OpenWhisk does with an action beyond storing it: annotation merging on update, ``init``
parameters, empty code, ``final`` parameters, the limits and the runtimes manifest.

Each expectation is apache/openwhisk's, cited per test (``Actions.scala``'s
``updateWhiskAction``, ``ContainerProxy.partitionArguments``,
``apache/openwhisk:docs/annotations.md``, ``Limits.scala``, ``Controller.info``).
"""

from __future__ import annotations

from typing import Any

from .harness import Client, Controller, create_action

ECHO = "def main(args):\n    return args\n"
ANNOTATION = {"version": 1, "policies": [{"type": "fn", "capability": "gpu", "strict": True}]}


def _annotations(doc: dict[str, Any]) -> dict[str, Any]:
    return {a["key"]: a["value"] for a in doc["annotations"]}


def test_an_update_merges_annotations_and_keeps_the_edgewhisk_annotation(guest: Client) -> None:
    """``updateWhiskAction``: the previous annotations, less ``delAnnotations``, ++ the given
    ones; an update with only a new annotation never drops the placement policy."""
    create_action(guest, "merged", ECHO, annotations=[
        {"key": "edgewhisk", "value": ANNOTATION}, {"key": "description", "value": "first"}])
    updated = guest.request("PUT", "actions/merged?overwrite=true", json={
        "annotations": [{"key": "description", "value": "second"},
                        {"key": "web-export", "value": True}]}).json()
    annotations = _annotations(updated)
    assert annotations["description"] == "second" and annotations["web-export"] is True
    assert annotations["edgewhisk"]["policies"] == ANNOTATION["policies"]
    assert annotations["invoker-resources"] == ["gpu"]
    assert annotations["exec"] == "python:3" and annotations["provide-api-key"] is False
    removed = guest.request("PUT", "actions/merged?overwrite=true",
                            json={"delAnnotations": ["edgewhisk"]}).json()
    assert "edgewhisk" not in _annotations(removed)
    assert "invoker-resources" not in _annotations(removed)  # derived from it: gone with it
    assert _annotations(removed)["description"] == "second"


def test_a_new_edgewhisk_annotation_derives_its_invoker_resources_again(guest: Client) -> None:
    create_action(guest, "retagged", ECHO, annotations=[{"key": "edgewhisk", "value": ANNOTATION}])
    camera = {"version": 1, "policies": [{"type": "fn", "capability": "camera", "strict": True}]}
    updated = guest.request("PUT", "actions/retagged?overwrite=true", json={
        "annotations": [{"key": "edgewhisk", "value": camera}]}).json()
    assert _annotations(updated)["invoker-resources"] == ["camera"]


def test_init_parameters_reach_the_environment_before_init_and_not_the_arguments(
        guest: Client) -> None:
    """``ContainerProxy.partitionArguments``: parameters marked ``init: true`` are exported to
    the action's environment at ``/init`` and taken out of the ``/run`` arguments."""
    code = ("import os\nAT_IMPORT = os.environ.get('TOKEN')\n"
            "def main(args):\n    return {'at_import': AT_IMPORT, 'args': args}\n")
    create_action(guest, "with-init", code, parameters=[
        {"key": "TOKEN", "value": "s3cret", "init": True}, {"key": "plain", "value": 1}])
    response = guest.request("POST", "actions/with-init?blocking=true&result=true", json={})
    assert response.json() == {"at_import": "s3cret", "args": {"plain": 1}}
    guest.request("PUT", "actions/with-init?overwrite=true", json={"parameters": [
        {"key": "TOKEN", "value": "rotated", "init": True}]})
    again = guest.request("POST", "actions/with-init?blocking=true&result=true", json={})
    assert again.json() == {"at_import": "rotated", "args": {}}


def test_an_action_with_empty_code_is_stored_and_fails_when_invoked(guest: Client) -> None:
    """Upstream accepts ``code: ""`` and the invocation is a developer error from ``/init``:
    ``Missing main/no code to execute.`` (the runtimes' answer to no code)."""
    created = guest.request("PUT", "actions/empty",
                            json={"exec": {"kind": "python:3", "code": ""}})
    assert created.status_code == 200 and created.json()["exec"]["code"] == ""
    response = guest.request("POST", "actions/empty?blocking=true", json={})
    assert response.status_code == 502
    record = response.json()["response"]
    assert record["status"] == "action developer error"
    assert record["result"] == {"error": "Missing main/no code to execute."}


def test_final_parameters_cannot_be_overridden_by_an_invocation(guest: Client) -> None:
    """apache/openwhisk:docs/annotations.md (``final``): with ``final: true`` the action's
    defined parameters are immutable; an invoke that sets one is a 400
    ``Messages.parametersNotAllowed``."""
    create_action(guest, "sealed", ECHO, parameters=[{"key": "fixed", "value": "yes"}],
                  annotations=[{"key": "final", "value": True}])
    refused = guest.request("POST", "actions/sealed?blocking=true", json={"fixed": "no"})
    assert refused.status_code == 400
    assert refused.json()["error"] == ("Request defines parameters that are not allowed "
                                       "(e.g., reserved properties).")
    allowed = guest.request("POST", "actions/sealed?blocking=true&result=true",
                            json={"other": 1})
    assert allowed.json() == {"fixed": "yes", "other": 1}


def test_the_namespace_limits_are_the_ones_entities_are_checked_against(guest: Client) -> None:
    """``WhiskLimitsApi``: ``GET /namespaces/_/limits`` answers the namespace's limits
    (``UserLimits``: the rates, memory and logs in MB, timeouts in ms, sizes as ``"1 MB"``)."""
    limits = guest.request("GET", "limits").json()
    assert limits == {"invocationsPerMinute": 120, "concurrentInvocations": 100,
                      "firesPerMinute": 60, "minActionMemory": 128, "maxActionMemory": 512,
                      "minActionLogs": 0, "maxActionLogs": 10, "minActionTimeout": 100,
                      "maxActionTimeout": 300000, "minActionConcurrency": 1,
                      "maxActionConcurrency": 500, "maxParameterSize": "1 MB"}
    too_big = guest.request("PUT", "actions/too-big", json={
        "exec": {"kind": "python:3", "code": ECHO}, "limits": {"memory": 513}})
    assert too_big.status_code == 400


def test_the_root_answers_the_runtimes_manifest(controller: Controller) -> None:
    """``Controller.info`` at ``GET /``: the API paths, the limits (bytes and ms) and the
    runtimes manifest (``ExecManifest.Runtimes.toJson``), without a key."""
    with Client(controller.api_host, None) as anonymous:
        info = anonymous.request("GET", "/").json()
    assert info["api_paths"] == ["/api/v1"]
    python = info["runtimes"]["python"]
    assert python[0]["kind"] == "python:3" and python[0]["default"] is True
    assert set(python[0]) == {"kind", "image", "deprecated", "default", "attached",
                              "requireMain"}
    assert info["limits"]["max_action_memory"] == 512 * 1024 * 1024
    assert info["limits"]["max_action_duration"] == 300_000
    assert info["limits"]["sequence_length"] == 50


def test_a_synchronous_throw_in_a_nodejs_action_is_a_developer_error(guest: Client) -> None:
    """apache/openwhisk-runtime-nodejs (``runner.js`` rejects a throw before ``main``
    returns; ``service.js`` answers it 502 ``An error has occurred: <error>``): the invoker
    records an action developer error; a rejected promise stays an application error."""
    for name, code in (("throws", "function main() { throw new Error('boom') }"),
                       ("rejects", "async function main() { throw new Error('boom') }")):
        response = guest.request("PUT", f"actions/{name}",
                                 json={"exec": {"kind": "nodejs:default", "code": code}})
        assert response.status_code == 200, response.text
    thrown = guest.request("POST", "actions/throws?blocking=true", json={}).json()["response"]
    assert thrown["status"] == "action developer error" and thrown["statusCode"] == 2
    assert thrown["result"] == {"error": "An error has occurred: Error: boom"}
    rejected = guest.request("POST", "actions/rejects?blocking=true", json={}).json()["response"]
    assert rejected["status"] == "application error"
    assert rejected["result"] == {"error": "boom"}
