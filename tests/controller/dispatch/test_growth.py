"""Data-growth triggers with real agents: the paper's retraining trigger.

"Retrain a user's model once 100 new readings arrived and the phone is charging": ``collect``
runs on each user's phone (``edgewhisk invoker`` through the devkit, a node store each) and
produces ``{usr}/glucose`` versions of 10 readings (``Output(metadata={"items": 10})``);
``retrain`` consumes them with ``@gate.data("{usr}/glucose", new_items=">=100")``,
``@policy.context(charging=True, strict=True)`` and ``@policy.wait``; a rule connects
``retrain.data`` to ``retrain``. The 100th reading of each user fires the trigger once (the
110th does not fire it again); u2's phone is charging and retrains at once, u1's waits until
its battery simulator plugs it in.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from edgewhisk import describe
from edgewhisk_devkit import AgentSpec, Fleet

from ..api.harness import Client, Controller, create_action

COLLECT = '''
from edgewhisk import Output, policy, produces

@produces.data("{usr}/glucose", locality="local")
@policy.fn(node="{usr}_device", strict=True)
def main(args):
    readings = [float(i) for i in range(10)]
    return {"glucose": Output(readings, metadata={"items": len(readings)})}
'''
RETRAIN = '''
from edgewhisk import consumes, gate, policy

@consumes.data("{usr}/glucose", name="readings", locality="local")
@gate.data("{usr}/glucose", new_items=">=100")
@policy.fn(node="{usr}_device", strict=True)
@policy.context(charging=True, strict=True)
@policy.wait("2m")
def main(args, readings):
    return {"retrained": args["usr"], "count": args["count"]}
'''
PERIOD_S = 10_000
U1_PLUGGED_AFTER_S = 12
"""When u1's phone starts charging: after its 100th reading (22 blocking invokes, a few
seconds), so that its retrain waits for it."""


def phone(user: str, plugged_after_s: float) -> AgentSpec:
    return AgentSpec(f"{user}-phone", (
        "--owner", user, "--memory", "1024", "--context-interval", "0.2",
        "--battery-sim", f"level=0.5,idle=0,load=0,charge=0.0001,period={PERIOD_S},"
                         f"plugged={PERIOD_S - plugged_after_s:g}"))


def create(client: Client, name: str, code: str) -> None:
    scope: dict[str, Any] = {}
    exec(compile(code, f"{name}.py", "exec"), scope)  # noqa: S102
    create_action(client, name, code,
                  annotations=[{"key": "edgewhisk", "value": describe(scope["main"])}])


def records(client: Client, name: str) -> list[dict[str, Any]]:
    return [r for r in client.request("GET", "activations?docs=true&limit=200").json()
            if r["name"] == name]


def test_100_new_readings_fire_the_retrain_once_per_user_when_charging(tmp_path: Path) -> None:
    with Controller(tmp_path / "data").start() as controller, \
            controller.client() as client:
        create(client, "collect", COLLECT)
        create(client, "retrain", RETRAIN)
        assert client.request("PUT", "triggers/retrain.data", json={}).status_code == 200
        rule = client.request("PUT", "rules/retrain-on-data",
                              json={"trigger": "/_/retrain.data", "action": "/_/retrain"})
        assert rule.status_code == 200, rule.text
        started = time.time()
        phones = [phone("u1", plugged_after_s=U1_PLUGGED_AFTER_S),
                  phone("u2", plugged_after_s=0)]
        with Fleet(client, phones, tmp_path, stores=tmp_path / "stores"):
            for round_ in range(11):  # 110 readings each; the 100th fires
                for user in ("u1", "u2"):
                    done = client.actions.invoke("collect", {"usr": user})
                    assert done.success, done.record
                if round_ == 8:
                    assert records(client, "retrain") == []  # 90 readings: nothing yet
            deadline = time.monotonic() + 60
            while len(records(client, "retrain")) < 2 and time.monotonic() < deadline:
                time.sleep(0.2)
            retrains = records(client, "retrain")
        fired = [r for r in records(client, "retrain.data")]
    assert sorted(r["response"]["result"]["retrained"] for r in retrains) == ["u1", "u2"]
    assert all(r["response"]["result"]["count"] == 100 for r in retrains)
    assert len(fired) == 2, "the trigger fired once per user"
    by_user = {r["response"]["result"]["retrained"]: r for r in retrains}
    u1_waited = next(a["value"] for a in by_user["u1"]["annotations"] if a["key"] == "pending")
    assert "failing context(charging)" in u1_waited["waited_for"]
    assert u1_waited["ended"] / 1000 >= started + U1_PLUGGED_AFTER_S, \
        "u1 retrained before it was charging"
    assert not any(a["key"] == "pending" for a in by_user["u2"]["annotations"])
