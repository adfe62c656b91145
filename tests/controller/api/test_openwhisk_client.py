"""The reference JavaScript client (``openwhisk`` on npm) drives the controller unmodified.

Each scenario is a small Node script in ``js/`` that prints what it saw as one JSON line;
the client comes from ``.services/node_modules`` (``make test`` installs it).
"""

from __future__ import annotations

from .harness import Controller, js_scenario


def test_create_invoke_and_read_activations_with_the_js_client(controller: Controller) -> None:
    seen = js_scenario(controller, "action_roundtrip.js")
    assert seen["created"]["exec"]["kind"] == "python:3" and seen["created"]["version"] == "0.0.1"
    assert {"key": "description", "value": "made by the js client"} in seen["created"][
        "annotations"]
    assert seen["updated"]["version"] == "0.0.2" and seen["updated"]["limits"]["memory"] == 128
    assert seen["result"] == {"hello": "js"}
    assert set(seen["started"]) == {"activationId"}
    assert [a["name"] for a in seen["listed"]] == ["js-hello"]
    assert len(seen["activations"]) == 2
    assert seen["record"]["response"]["result"] == {"hello": "default"}
    assert seen["logs"]["logs"][0].endswith("stdout: from js")
    assert seen["namespaces"] == ["guest"]
    assert seen["missing"]["statusCode"] == 404


def test_fire_a_trigger_through_a_rule_with_the_js_client(controller: Controller) -> None:
    seen = js_scenario(controller, "trigger_fire.js")
    assert seen["rule"]["trigger"] == {"name": "js-trigger", "path": "guest"}
    assert seen["rule"]["status"] == "active"
    record = seen["activations"][0]
    assert record["cause"] == seen["fired"]["activationId"]
    assert record["response"]["result"] == {"source": "trigger", "event": "fired"}
    assert seen["afterDisable"]["rules"]["guest/js-rule"]["status"] == "inactive"
    assert seen["enabled"]["status"] == "active"
    assert [r["name"] for r in seen["rules"]] == ["js-rule"]


def test_packages_bindings_and_namespaces_get_with_the_js_client(controller: Controller) -> None:
    """apache/openwhisk:docs/packages.md through the reference client: a package's parameters
    reach its actions, a binding's override them, the invocation's override both; ``packages.get``
    lists the actions; ``namespaces.get`` (four collection reads) sees the package; a package
    with actions is not deleted (409)."""
    seen = js_scenario(controller, "packages.js")
    assert seen["created"]["binding"] == {}
    assert seen["binding"]["binding"] == {"namespace": "guest", "name": "js-pkg"}
    assert seen["viaPackage"] == {"text": "hello pkg"}
    assert seen["viaBinding"] == {"text": "hello binding"}
    assert seen["overridden"] == {"text": "bye binding"}
    assert [a["name"] for a in seen["got"]["actions"]] == ["greet"]
    assert {"js-pkg", "js-bind"} <= {p["name"] for p in seen["listed"]}
    assert set(seen["namespace"]) == {"actions", "packages", "triggers", "rules"}
    assert "js-pkg" in [p["name"] for p in seen["namespace"]["packages"]]
    assert seen["notEmpty"]["statusCode"] == 409


def test_a_sequence_with_the_js_client(controller: Controller) -> None:
    """apache/openwhisk:docs/actions.md ("Creating action sequences") through the reference
    client's ``actions.create({sequence})``: the stored exec, the composed result, and the
    component activations named in the sequence's logs, caused by it."""
    seen = js_scenario(controller, "sequence.js")
    assert seen["created"]["exec"] == {"kind": "sequence",
                                       "components": ["/guest/js-upper", "/guest/js-exclaim"]}
    assert seen["record"]["response"]["result"] == {"text": "HI!"}
    assert len(seen["record"]["logs"]) == 2
    assert seen["first"]["name"] == "js-upper"
    assert seen["first"]["cause"] == seen["record"]["activationId"]


def test_an_alarm_feed_s_lifecycle_with_the_js_client(controller: Controller) -> None:
    """apache/openwhisk:docs/feeds.md ("Implementing Feed Actions"): the client creates the
    trigger with a ``feed`` annotation and invokes the feed action with ``lifecycleEvent``,
    ``triggerName`` and ``authKey`` (the JS client's ``feeds``): CREATE starts the alarm,
    READ answers its configuration, PAUSE stops the firings, UNPAUSE resumes them, DELETE
    ends them; each firing runs the rule's action with ``trigger_payload``."""
    seen = js_scenario(controller, "feeds.js")
    assert seen["created"]["response"]["success"], seen["created"]
    assert seen["firstFired"], "the alarm never fired its trigger"
    config = seen["read"]["response"]["result"]["config"]
    assert config["kind"] == "interval" and config["seconds"] == 1
    assert config["trigger_payload"] == {"from": "alarm"}
    assert seen["paused"]["status"]["active"] is False
    assert seen["whilePaused"] == []  # no trigger activation started while paused
    assert seen["unpaused"]["status"]["active"] is True and seen["afterUnpause"]
    assert seen["deleted"]["response"]["success"] and seen["afterDelete"] == []
    assert seen["record"]["response"]["result"] == {"from": "alarm"}
    assert seen["record"]["cause"]  # the trigger activation that fired it
