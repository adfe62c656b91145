"""The demo's second scene: a drift that triggers a per-user retrain through a rule.

The first user's glucose moves (+60 mg/dL: a changed treatment), so what their device sends
drifts away from what their model was refined on. The platform notices, not the demo: on the
device, the runtime measures every predict's inputs against the model's training reference
over the gate's window; when predict's strict psi gate fires, the controller fires the trigger
``predict.drift``, whose rule ``retrain-on-drift`` (made here, through the API) invokes
``refine`` for that user with the firing's payload (``usr`` among it), and refuses the
user's predicts until that new model arrives. Predict then serves the new version, whose
reference is the drifted readings, and its window is quiet.

The scene prints rows in the demo's tables like the first scene's, every verdict as the
controller recorded it (the activations' ``gates`` annotation).
"""

from __future__ import annotations

import json
from typing import Any

from ..artifact import verdicts_cell
from .calls import DemoError, answering
from .report import Row
from .steps import Demo, gates_of, served

SHIFT = 60.0  # mg/dL
BATCH = 40  # readings per predict: a few batches fill the gate's window
MAX_BATCHES = 6
RULE = "retrain-on-drift"
TRIGGER = "predict.drift"
RETRAIN_WAIT_S = 180.0


def run(demo: Demo) -> None:
    usr = demo.users[0]
    connect(demo)
    demo.progress(f"scene 2: {usr}'s glucose moves by +{SHIFT:g} mg/dL; {usr}'s device "
                  f"records new readings, then sends drifted ones to predict, {BATCH} at a time")
    shifted = demo.invoke("collect", {"usr": usr, "readings": demo.readings, "shift": SHIFT,
                                      "seed": 1}, usr)
    demo.rows.append(Row("shift", usr, f"{usr}/glucose@{_version(shifted.result, 'glucose')}",
                         result=f"+{SHIFT:g} mg/dL: {shifted.result['readings']} readings "
                                "kept on the device", time=f"{shifted.round_trip_s:.1f}s"))
    fired = drift(demo, usr)
    refused(demo, usr)
    retrain(demo, usr, fired)
    for batch in range(3):
        done = demo.invoke("predict", {"usr": usr, "readings": readings(demo, usr, 10 + batch)},
                           usr)
        demo.rows.append(Row("served", usr, f"(reads {served(done)})", result=_gates(done.record),
                             time=f"{done.round_trip_s:.2f}s"))


def connect(demo: Demo) -> None:
    """The trigger the strict drift gate fires, and a rule from it to refine."""
    with answering(f"rule {RULE}", demo.controller_log):
        demo.client.json("PUT", f"triggers/{TRIGGER}", params={"overwrite": "true"}, json={})
        demo.client.json("PUT", f"rules/{RULE}", params={"overwrite": "true"},
                         json={"trigger": TRIGGER, "action": "refine"})
    demo.rows.append(Row("rule", "-", RULE, result=f"PUT triggers/{TRIGGER}, rules/{RULE}: "
                                                    f"{TRIGGER} -> refine"))


def readings(demo: Demo, usr: str, batch: int) -> list[list[float]]:
    rows = demo.glucose.user_readings(usr, BATCH, seed=100 + batch, shift=SHIFT)["X"]
    return rows.tolist()  # type: ignore[no-any-return]


def _psi(record: dict[str, Any]) -> dict[str, Any]:
    gates = gates_of(record)
    found = next((g for g in gates if g.get("metric") == "psi"), None)
    if found is None:
        raise DemoError(f"activation {record['activationId']}: no psi verdict in its gates "
                        f"annotation: {gates}")
    return dict(found)


def _gates(record: dict[str, Any]) -> str:
    return f"gates: {verdicts_cell(gates_of(record), source=True)}"


def drift(demo: Demo, usr: str) -> dict[str, Any]:
    """Drifted predicts until the psi gate fires (the window must be full first)."""
    for batch in range(MAX_BATCHES):
        done = demo.invoke("predict", {"usr": usr, "readings": readings(demo, usr, batch)}, usr)
        verdict = _psi(done.record)
        trigger = verdict.get("trigger") or {}
        fired = f" -> fired {trigger['name']}" if trigger.get("activationId") else ""
        demo.rows.append(Row("drift", usr, f"(reads {served(done)})",
                             result=f"{_gates(done.record)}{fired}",
                             time=f"{done.round_trip_s:.2f}s"))
        if trigger.get("activationId"):
            fired_record = demo.client.activations.wait(trigger["activationId"])
            demo.recorded(fired_record, usr, None)
            return fired_record
    raise DemoError(f"predict {usr}: {MAX_BATCHES} drifted batches did not fire the psi gate")


def refused(demo: Demo, usr: str) -> None:
    """The next predict: the strict gate holds, the controller refuses it naming the gate."""
    with answering(f"predict {usr}", demo.controller_log):
        done = demo.client.actions.invoke("predict", {"usr": usr, "readings":
                                                      readings(demo, usr, MAX_BATCHES)})
    if done.success:
        raise DemoError(f"predict {usr}: served although its strict drift gate had fired")
    demo.recorded(done.record, usr, done.round_trip_s)
    demo.rows.append(Row("refused", usr, result=str(done.result.get("error")),
                         time=f"{done.round_trip_s:.2f}s"))


def retrain(demo: Demo, usr: str, fired: dict[str, Any]) -> None:
    """The refine the rule started, from the trigger activation's log line, once finished."""
    lines = [json.loads(line) for line in fired.get("logs", [])]
    started = [line["activationId"] for line in lines if "activationId" in line]
    if not started:
        raise DemoError(f"{TRIGGER}: the rule {RULE} started nothing: {lines}")
    demo.progress(f"{TRIGGER} fired: the rule {RULE} started refine for {usr} "
                  f"({started[0][:8]}); waiting for it")
    with answering(f"retrain {usr}", demo.controller_log):
        record = demo.client.activations.wait(started[0], RETRAIN_WAIT_S, every_s=0.5)
    if not record["response"]["success"]:
        raise DemoError(f"retrain {usr}: {record['response']['result']}", "\n".join(
            record.get("logs", [])))
    demo.recorded(record, usr, None)
    result = record["response"]["result"]
    demo.rows.append(Row("retrain", usr, f"{usr}/glucose-model@"
                                         f"{_version(result, 'glucose-model')}",
                         accuracy=f"{result['accuracy_before']:.3f} -> "
                                  f"{result['accuracy_after']:.3f}",
                         result=f"refine by rule {RULE} (cause {fired['activationId'][:8]}), "
                                f"on the drifted readings; {_gates(record)}",
                         time=f"{record.get('duration', 0) / 1000:.1f}s"))


def _version(result: dict[str, Any], name: str) -> str:
    return str(result[name]["artifact"]["version"])
