"""What the controller does with gate verdicts, through a real controller and its local invokers
(the runtime's gate stage in real action processes, reported values, no MXNet):

- a validator gate that fires holds the produced version back: registered ``gated`` with its
  verdicts, the previous version stays the one a bound ref, a selector and the resolve API
  find, a pinned ``name@version`` still resolves, and the trigger ``<action>.<type>`` fires
  once per version, its rule's action getting the payload;
- a drift gate is edge-triggered with a cooldown per (gate, version, binding), durably: a
  restarted controller does not fire again; a strict one refuses with a whisk error naming
  the gate, or routes to its fallback, until a new version of its target arrives;
- every activation of a gated action carries a ``gates`` annotation; a gate without a verdict
  (a runtime that does not evaluate gates) fails the activation naming it.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import edgewhisk
import pytest

from ..api.harness import Client, Controller, create_action, wskprops_env
from ..api.harness import edgewhisk as edgewhisk_command
from ..api.test_triggers_rules import _activations_of
from .test_api import uploaded

PRODUCE = """
from edgewhisk import Output, gate, produces

@produces.model("gm/model", name="model", locality="cloud")
@gate.metric("accuracy", "<0.9")
def main(args):
    return {"model": Output(args["weights"].encode(), metadata={"type": "gm-classifier"},
                            metrics={"accuracy": args["accuracy"]})}
"""
LATEST = """
from edgewhisk import consumes

@consumes.model("gm/model", name="model")
def main(args, model):
    return {"weights": model.load().decode()}
"""
SELECTED = LATEST.replace('"gm/model", name="model"',
                          'name="model", selector={"type": "gm-classifier"}')
PINNED = LATEST.replace('"gm/model"', '"gm/model@2"')
SERVE = """
from edgewhisk import consumes, gate

@consumes.model("{usr}/served", name="model")
@gate.drift(metric="confidence", predicate="<0.2", cooldown="1h"GATE_OPTIONS)
def main(args, model):
    model.load()
    return {"metrics": {"confidence": args["confidence"]}, "usr": args["usr"]}
"""
ALERT = "def main(args):\n    return {'alert': args}\n"
SAFE = "def main(args):\n    return {'safe': True, 'usr': args.get('usr')}\n"


def annotated(code: str) -> list[dict[str, Any]]:
    scope: dict[str, Any] = {}
    exec(code, scope)  # the decorators record what main declares
    return [{"key": "edgewhisk", "value": edgewhisk.describe(scope["main"])}]


def deploy(api: Client, name: str, code: str) -> None:
    create_action(api, name, code, annotations=annotated(code))


def alert_on(api: Client, trigger: str, action: str = "alert") -> None:
    assert api.request("PUT", f"triggers/{trigger}", json={}).status_code == 200
    rule = api.request("PUT", f"rules/on-{trigger}", json={"trigger": trigger, "action": action})
    assert rule.status_code == 200, rule.text


def invoke(api: Client, name: str, params: dict[str, Any]) -> dict[str, Any]:
    answer = api.request("POST", f"actions/{name}?blocking=true", json=params)
    assert answer.status_code in (200, 500, 502), answer.text
    return api.activations.wait(answer.json()["activationId"])


def gates_of(record: dict[str, Any]) -> list[dict[str, Any]]:
    (value,) = [a["value"] for a in record["annotations"] if a["key"] == "gates"]
    return value  # type: ignore[no-any-return]


def count(api: Client, name: str) -> int:
    return len(api.request("GET", f"activations?name={name}&limit=200").json())


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gates") / "data"


@pytest.fixture(scope="module")
def controller(data_dir: Path) -> Iterator[Controller]:
    with Controller(data_dir, "--invokers", "1").start() as controller:
        yield controller


@pytest.fixture(scope="module")
def api(controller: Controller) -> Iterator[Client]:
    with controller.client() as client:
        create_action(client, "alert", ALERT)
        create_action(client, "safe", SAFE)
        yield client


def test_a_firing_validator_gate_holds_its_version_back_and_fires_once_per_version(
        api: Client, controller: Controller, tmp_path: Path) -> None:
    deploy(api, "produce", PRODUCE)
    for name, code in (("latest", LATEST), ("selected", SELECTED), ("pinned", PINNED)):
        deploy(api, name, code)
    alert_on(api, "produce.metric")

    good = invoke(api, "produce", {"weights": "good", "accuracy": 0.95})
    assert good["response"]["success"], good
    assert gates_of(good) == [{"gate": 0, "type": "metric", "target": "model",
                               "version": "guest/gm/model@1", "metric": "accuracy",
                               "value": 0.95, "predicate": "<0.9", "fired": False,
                               "source": "reported"}]
    bad = invoke(api, "produce", {"weights": "bad", "accuracy": 0.5})
    assert bad["response"]["success"], "the activation succeeds; its model is held back"
    (verdict,) = gates_of(bad)
    assert (verdict["version"], verdict["fired"], verdict["held"]) == (
        "guest/gm/model@2", True, True)
    assert verdict["trigger"]["name"] == "produce.metric"
    trigger_id = verdict["trigger"]["activationId"]

    versions = api.request("GET", "artifacts/gm/model/versions").json()
    assert [(v["version"], v["status"]) for v in versions] == [(2, "gated"), (1, "ok")]
    assert versions[0]["gates"] == [{k: v for k, v in verdict.items() if k != "trigger"}]
    assert api.request("GET", "artifacts/gm/model").json()["version"] == 1, "still current"
    resolved = api.request("POST", "artifacts/resolve",
                           json={"selector": {"type": "gm-classifier"}}).json()
    assert resolved["version"] == 1
    preloaded = api.request("POST", "artifacts/gm/model/preload", json={"devices": {}}).json()
    assert preloaded["artifact"] == "guest/gm/model@1", "preload without a version skips it"
    for name, weights in (("latest", "good"), ("selected", "good"), ("pinned", "bad")):
        done = invoke(api, name, {})
        assert done["response"]["result"] == {"weights": weights}, (name, done)

    (alert,) = _activations_of(api, "alert", 1)
    assert alert["cause"] == trigger_id
    payload = alert["response"]["result"]["alert"]
    assert payload == {"gate": "metric", "metric": "accuracy", "value": 0.5, "predicate": "<0.9",
                       "source": "reported", "action": "/guest/produce",
                       "activationId": bad["activationId"], "target": "guest/gm/model@2",
                       "binding": {}, "invoker": verdict_invoker(bad),
                       "trigger": "produce.metric"}
    worse = invoke(api, "produce", {"weights": "worse", "accuracy": 0.4})
    assert gates_of(worse)[0]["held"] and len(_activations_of(api, "alert", 2)) == 2, \
        "each new version fires once"
    listed = subprocess.run(edgewhisk_command("artifact", "ls", "--name", "gm/model"),
                            capture_output=True, text=True, timeout=60,
                            env=wskprops_env(controller, tmp_path))
    assert listed.returncode == 0, listed.stderr
    # ARTIFACT ... STATUS GATES: SIZE is two words ("1.2 kB"), STATUS and GATES never hold spaces
    assert [[cells[0], cells[-2]] for cells in map(str.split, listed.stdout.splitlines()[1:])] == [
        ["gm/model@3", "gated"], ["gm/model@2", "gated"], ["gm/model@1", "ok"]]
    assert listed.stdout.splitlines()[2].split()[-1] == "accuracy=0.5(<0.9,fired)"
    no_match = api.request("POST", "artifacts/resolve",
                           json={"selector": {"type": "gm-classifier",
                                              "metrics": {"accuracy": "<0.6"}}})
    assert no_match.status_code == 404
    assert "gm/model@3: held back by its gates (status gated)" in no_match.json()["error"]


def verdict_invoker(record: dict[str, Any]) -> str:
    return next(a["value"] for a in record["annotations"] if a["key"] == "invoker")


def serve(api: Client, name: str, options: str = "") -> None:
    deploy(api, name, SERVE.replace("GATE_OPTIONS", options))


def fired(api: Client, usr: str, confidence: float) -> dict[str, Any]:
    (verdict,) = gates_of(invoke(api, "watch", {"usr": usr, "confidence": confidence}))
    return verdict


def _alerts_of(api: Client, trigger: str, expected: int,
               timeout_s: float = 60.0) -> list[dict[str, Any]]:
    """The payloads of the ``alert`` runs ``trigger`` caused, once ``expected`` are recorded
    (earlier tests of the module fire other triggers into the same rule's action)."""
    deadline = time.monotonic() + timeout_s
    while True:
        alerts = api.request("GET", "activations?name=alert&docs=true&limit=200").json()
        found = [a["response"]["result"]["alert"] for a in alerts
                 if a["response"]["result"]["alert"].get("trigger") == trigger]
        if len(found) >= expected or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_a_drift_gate_fires_on_a_rising_edge_once_within_its_cooldown(api: Client) -> None:
    uploaded(api, "u1/served", b"w1")
    uploaded(api, "u2/served", b"w1")
    serve(api, "watch")
    alert_on(api, "watch.drift")
    assert fired(api, "u1", 0.5)["fired"] is False
    first = fired(api, "u1", 0.1)
    assert first["fired"] and first["trigger"]["activationId"], "the rising edge fires"
    assert "trigger" not in fired(api, "u1", 0.1), "still below: holding, no second firing"
    assert "trigger" not in fired(api, "u1", 0.5), "quiet again: re-armed"
    again = fired(api, "u1", 0.05)
    assert again["fired"] and "trigger" not in again, "a new edge within the cooldown: silent"
    other = fired(api, "u2", 0.1)
    assert other["trigger"]["activationId"], "another binding has its own state"
    watch = _alerts_of(api, "watch.drift", 2)  # the rule's runs are recorded asynchronously
    assert sorted((a["usr"], a["binding"], a["target"]) for a in watch) == [
        ("u1", {"usr": "u1"}, "guest/u1/served@1"), ("u2", {"usr": "u2"}, "guest/u2/served@1")]
    versions = api.request("GET", "artifacts/u1/served/versions").json()
    assert [g["value"] for g in versions[0]["gates"]] == [0.1], "the version keeps its firing"


def test_a_strict_drift_gate_refuses_until_a_new_version_arrives(api: Client) -> None:
    uploaded(api, "u3/served", b"w1")
    serve(api, "strict", ", strict=True")
    serve(api, "routed", ', strict=True, fallback="safe"')
    assert invoke(api, "strict", {"usr": "u3", "confidence": 0.1})["response"]["success"]
    refused = invoke(api, "strict", {"usr": "u3", "confidence": 0.9})
    assert refused["response"]["statusCode"] == 3
    error = refused["response"]["result"]["error"]
    assert error.startswith("The gate drift(confidence<0.2) on model of action strict holds "
                            "for guest/u3/served@1 (usr=u3) since ")
    assert error.endswith("activations are refused until a new version of u3/served arrives.")
    (held,) = gates_of(refused)
    assert (held["fired"], held["held"], held["refused"], held["value"]) == (True, True, True,
                                                                             0.1)

    assert invoke(api, "routed", {"usr": "u3", "confidence": 0.1})["response"]["success"]
    routed = invoke(api, "routed", {"usr": "u3", "confidence": 0.9})
    assert routed["response"]["result"] == {"safe": True, "usr": "u3"}
    fallback = gates_of(routed)[0]["fallback"]
    assert fallback["action"] == "/guest/safe"
    assert api.activations.wait(fallback["activationId"])["cause"] == routed["activationId"]

    uploaded(api, "u3/served", b"w2")
    renewed = invoke(api, "strict", {"usr": "u3", "confidence": 0.9})
    assert renewed["response"]["success"], renewed
    assert gates_of(renewed)[0]["version"] == "guest/u3/served@2"
    uploaded(api, "u5/served", b"w1")
    assert invoke(api, "strict", {"usr": "u5", "confidence": 0.1})["response"]["success"]


def test_a_gate_without_a_verdict_fails_the_activation_naming_it(api: Client) -> None:
    uploaded(api, "u4/served", b"w1")
    annotation = annotated(SERVE.replace("GATE_OPTIONS", ""))
    body = {"exec": {"kind": "nodejs:default", "code": "function main(a) { return {ok: 1}; }"},
            "annotations": annotation}
    assert api.actions.put("nodejs-gated", body, overwrite=False)
    done = invoke(api, "nodejs-gated", {"usr": "u4"})
    assert done["response"]["statusCode"] == 2
    assert done["response"]["result"]["error"] == (
        f"gate drift(confidence<0.2) on model: no verdict came back from invoker "
        f"{verdict_invoker(done)}: its runtime does not evaluate gates")
    assert gates_of(done)[0]["error"].startswith("no verdict came back")


def test_every_activation_of_a_gated_action_carries_the_annotation(api: Client) -> None:
    serve(api, "unplaced")
    failed = invoke(api, "unplaced", {"usr": "nobody", "confidence": 0.5})
    assert failed["response"]["statusCode"] == 3, "no such model: nothing ran"
    assert gates_of(failed) == []
    plain = invoke(api, "alert", {})
    assert "gates" not in [a["key"] for a in plain["annotations"]]


def test_a_version_uploaded_by_hand_has_no_verdicts_and_is_ok(api: Client) -> None:
    doc = uploaded(api, "by-hand", b"x")
    assert (doc["status"], doc["gates"]) == ("ok", [])


def test_a_gate_that_names_what_it_cannot_target_is_a_400_naming_the_field(api: Client) -> None:
    annotation = annotated(SERVE.replace("GATE_OPTIONS", ""))
    annotation[0]["value"]["gates"][0]["target"] = "elsewhere"
    answer = api.request("PUT", "actions/mistargeted", json={
        "exec": {"kind": "python:3", "code": "def main(a):\n    return a\n"},
        "annotations": annotation})
    assert answer.status_code == 400
    assert answer.json()["error"].startswith(
        "annotations.edgewhisk.gates[0].target: 'elsewhere' names no artifact this gate can "
        "target (a consumed model)")
    assert api.request("GET", "actions/mistargeted").status_code == 404, "nothing was stored"


def test_a_restarted_controller_remembers_what_fired_and_what_holds(
        api: Client, controller: Controller) -> None:
    """Last in this module: the controller comes back on another port."""
    alerts = count(api, "alert")
    controller.stop()
    controller.start()
    with controller.client() as fresh:
        assert "trigger" not in fired(fresh, "u1", 0.1), "holding before: no firing again"
        refused = invoke(fresh, "strict", {"usr": "u5", "confidence": 0.9})
        assert refused["response"]["statusCode"] == 3, "u5's strict gate still holds"
        time.sleep(0.5)  # a firing would have started its rule's action by now
        assert count(fresh, "alert") == alerts
