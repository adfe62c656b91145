"""The proof of issue 11 with real parts: a controller, a cloud node and two user devices (edge
agents on its tunnel), the MXNet personal-assistant actions, gates evaluated by the runtime on
the devices and acted on by the controller.

- A refine on a skewed sample (``collect skew``) produces a biased model: the new version is
  registered ``gated``, the user's previous model stays current (predict keeps serving it),
  and ``refine.bias`` fires once, whose rule runs ``alert`` with the payload.
- Predict on drifted readings (``shift``: the user's glucose moved): the runtime's window of
  the model's inputs against its training reference fires ``predict.drift`` once per user and,
  the gate being strict, the next predict is refused naming the gate; a watcher without
  ``strict`` fires once per user however long the drift lasts (edge-triggered, cooldown).
- A new refined version (refined on the drifted readings) re-enables predict: its window is
  quiet against its own reference.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import glucose
import pytest
from edgewhisk_cli.action import python_action
from edgewhisk_cli.demo.fleet import nodes_for
from edgewhisk_client import Activation, Client
from edgewhisk_devkit import Controller, Fleet

EXAMPLE = Path(glucose.__file__).parent
USERS = ("u1", "u2")
LIMITS = {"timeout": 120_000, "memory": 256}
ALERT = "def main(args):\n    return {'alert': args}\n"
pytestmark = pytest.mark.mxnet  # the personal-assistant actions run MXNet (the ai extra)
BATCH = 40  # readings per predict: the window (100 rows) is full at the third


@dataclass
class Proof:
    """What the scenario did, for the tests to read."""

    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    served: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    watched: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    versions: list[dict[str, Any]] = field(default_factory=list)
    current: dict[str, Any] = field(default_factory=dict)
    fired: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def gates_of(record: dict[str, Any]) -> list[dict[str, Any]]:
    (value,) = [a["value"] for a in record["annotations"] if a["key"] == "gates"]
    return value  # type: ignore[no-any-return]


def drifted(usr: str, batch: int) -> list[list[float]]:
    rows = glucose.user_readings(usr, BATCH, seed=100 + batch, shift=60)["X"]
    return rows.tolist()  # type: ignore[no-any-return]


def deploy(client: Client) -> None:
    include = [EXAMPLE / "glucose.py"]
    for name in ("collect", "train_base", "refine", "predict"):
        client.actions.put(name, python_action(name, EXAMPLE / f"{name}.py", include, LIMITS))
    watch = python_action("watch", EXAMPLE / "predict.py", include, LIMITS)
    for annotation in watch["annotations"]:
        if annotation["key"] == "edgewhisk":  # the same predict, its drift gate not strict
            for gate in annotation["value"]["gates"]:
                gate.pop("strict", None)
    client.actions.put("watch", watch)
    client.actions.put("alert", {"exec": {"kind": "python:3", "code": ALERT}})
    for trigger in ("refine.bias", "predict.drift", "watch.drift"):
        client.json("PUT", f"triggers/{trigger}", json={})
        client.json("PUT", f"rules/alert-{trigger}", json={"trigger": trigger,
                                                          "action": "alert"})


def ok(done: Activation) -> dict[str, Any]:
    assert done.success, done.response
    return done.record


def scenario(client: Client, proof: Proof) -> None:
    deploy(client)
    for usr in USERS:
        ok(client.actions.invoke("collect", {"usr": usr}))
    ok(client.actions.invoke("train_base", {}))
    for usr in USERS:
        proof.records[f"refine {usr}"] = ok(client.actions.invoke("refine", {"usr": usr}))
    ok(client.actions.invoke("collect", {"usr": "u1", "skew": True}))
    proof.records["biased"] = ok(client.actions.invoke("refine", {"usr": "u1"}))
    proof.versions = client.json("GET", "artifacts/u1/glucose-model/versions")
    proof.current = client.artifacts.get("u1/glucose-model")
    for usr in USERS:
        proof.served[usr] = [client.actions.invoke("predict", {
            "usr": usr, "readings": drifted(usr, batch)}).record for batch in range(4)]
        proof.watched[usr] = [ok(client.actions.invoke("watch", {
            "usr": usr, "readings": drifted(usr, batch)})) for batch in range(5)]
    ok(client.actions.invoke("collect", {"usr": "u1", "shift": 60, "seed": 1}))
    proof.records["renewed"] = ok(client.actions.invoke("refine", {"usr": "u1"}))
    for batch in range(3):  # a full window of the drifted readings on the new model
        proof.records["re-enabled"] = client.actions.invoke(
            "predict", {"usr": "u1", "readings": drifted("u1", 10 + batch)}).record
    for trigger in ("refine.bias", "predict.drift", "watch.drift"):
        fired = client.activations.list(name=trigger, docs="true")
        proof.fired[trigger] = [client.activations.wait(r["activationId"]) for r in fired]
    proof.fired["alert"] = [client.activations.wait(a["activationId"]) for a in
                            client.activations.list(name="alert", docs="true")]


@pytest.fixture(scope="module")
def proof(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proof]:
    workdir = tmp_path_factory.mktemp("gates-proof")
    controller = Controller(workdir / "controller", "--invokers", "0",
                            log=workdir / "controller.log")
    done = Proof()
    with controller, controller.client() as client:
        with Fleet(client, [n.spec for n in nodes_for(list(USERS))], workdir,
                   stores=workdir / "stores"):
            scenario(client, done)
            alerts = len(done.fired["alert"])
            assert alerts == sum(len(done.fired[t]) for t in ("refine.bias", "predict.drift",
                                                              "watch.drift"))
    yield done


def test_a_biased_refine_is_held_back_and_the_previous_model_stays_current(proof: Proof) -> None:
    biased = proof.records["biased"]
    (bias,) = gates_of(biased)
    assert (bias["type"], bias["metric"], bias["source"]) == ("bias", "bias.age", "reported")
    assert bias["fired"] and bias["held"] and bias["value"] < 0.8
    assert bias["version"] == "guest/u1/glucose-model@2"
    assert [(v["version"], v["status"]) for v in proof.versions] == [(2, "gated"), (1, "ok")]
    assert proof.versions[0]["gates"][0]["value"] == bias["value"]
    assert proof.current["version"] == 1
    for usr in USERS:
        (quiet,) = gates_of(proof.records[f"refine {usr}"])
        assert quiet["fired"] is False and quiet["value"] >= 0.8
    served = gates_of(proof.served["u1"][0])
    assert {v["version"] for v in served} == {"guest/u1/glucose-model@1"}, "predict serves @1"


def test_refine_bias_fires_once_and_its_rule_runs_alert_with_the_payload(proof: Proof) -> None:
    (trigger,) = proof.fired["refine.bias"]
    (alert,) = [a for a in proof.fired["alert"] if a.get("cause") == trigger["activationId"]]
    payload = alert["response"]["result"]["alert"]
    assert {k: payload[k] for k in ("usr", "gate", "metric", "predicate", "source", "action",
                                    "target", "binding", "invoker", "trigger")} == {
        "usr": "u1", "gate": "bias", "metric": "bias.age", "predicate": "<0.8",
        "source": "reported", "action": "/guest/refine", "target": "guest/u1/glucose-model@2",
        "binding": {"usr": "u1"}, "invoker": "u1-phone", "trigger": "refine.bias"}
    assert payload["activationId"] == proof.records["biased"]["activationId"]


def psi_of(record: dict[str, Any]) -> dict[str, Any]:
    return next(v for v in gates_of(record) if v["metric"] == "psi")


@pytest.mark.parametrize("usr", USERS)
def test_drift_fires_predict_drift_once_and_the_strict_gate_refuses_the_next(
        proof: Proof, usr: str) -> None:
    first, second, third, refused = proof.served[usr]
    assert [psi_of(r)["rows"] for r in (first, second, third)] == [40, 80, 120]
    assert [psi_of(r)["fired"] for r in (first, second, third)] == [False, False, True], \
        "measured over the window; it fires once the window is full"
    assert psi_of(third)["source"] == "measured" and psi_of(third)["value"] > 0.5
    assert psi_of(third)["detail"].startswith("feature glucose")
    assert psi_of(third)["trigger"]["activationId"]
    assert refused["response"]["statusCode"] == 3
    assert refused["response"]["result"]["error"].startswith(
        f"The gate drift(psi>0.5) on model of action predict holds for "
        f"guest/{usr}/glucose-model@1 (usr={usr}) since ")
    fired = [t for t in proof.fired["predict.drift"]
             if t["response"]["result"]["usr"] == usr]
    assert len(fired) == 1


@pytest.mark.parametrize("usr", USERS)
def test_a_watcher_fires_once_per_user_however_long_the_drift_lasts(proof: Proof,
                                                                    usr: str) -> None:
    watched = [psi_of(r) for r in proof.watched[usr]]
    assert [v["fired"] for v in watched] == [False, False, True, True, True]
    assert ["trigger" in v for v in watched] == [False, False, True, False, False]
    fired = [t for t in proof.fired["watch.drift"] if t["response"]["result"]["usr"] == usr]
    assert len(fired) == 1 and fired[0]["response"]["result"]["source"] == "measured"


def test_a_new_refined_version_re_enables_predict(proof: Proof) -> None:
    renewed = gates_of(proof.records["renewed"])
    assert renewed[0]["version"] == "guest/u1/glucose-model@3" and not renewed[0]["fired"]
    record = proof.records["re-enabled"]
    assert record["response"]["success"], record
    verdict = psi_of(record)
    assert verdict["version"] == "guest/u1/glucose-model@3"
    assert (verdict["rows"], verdict["fired"]) == (3 * BATCH, False)
    assert verdict["value"] < 0.5, "the drifted readings are what the new model was refined on"
