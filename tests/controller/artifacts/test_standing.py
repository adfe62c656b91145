"""Standing preload policies with real agents: kept on the devices a selector picks, the moment
their context allows (``artifacts/standing.py``), through a real controller and ``edgewhisk
invoker`` agents whose battery and networks follow the documented simulator's schedule.

u1's phone is on mobile data (``--metered-network cell``) and joins its home network after
2 s, and is plugged in after 6 s; u2's phone is plugged in but only ever on mobile data. A
policy "u1's devices, charging, unmetered" pushes the model to u1's phone once both hold,
never before, and never to u2's; every decision is listed with its reason.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

from edgewhisk import describe
from edgewhisk_devkit import AgentSpec, Fleet

from ..api.harness import Client, Controller

MODEL = b"a model every u1 device should hold " * 64
PERIOD_S = 10_000


def phone(user: str, plugged_after_s: float, *networks: str) -> AgentSpec:
    return AgentSpec(f"{user}-phone", (
        "--owner", user, "--memory", "512", "--context-interval", "0.2",
        "--battery-sim", f"level=0.5,idle=0,load=0,charge=0.0001,period={PERIOD_S},"
                         f"plugged={PERIOD_S - plugged_after_s:g}",
        "--network", "cell", "--metered-network", "cell", *networks))


def upload(client: Client, name: str, **query: str) -> dict[str, Any]:
    answer = client.request("PUT", f"artifacts/{name}", data=MODEL, params={
        "kind": "model", "sha256": hashlib.sha256(MODEL).hexdigest(), **query})
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def decisions(client: Client, name: str) -> list[dict[str, Any]]:
    return [d for p in client.request("GET", f"artifacts/{name}/preload-policies").json()
            for d in p["decisions"]]


def test_a_standing_policy_preloads_when_charging_and_unmetered(tmp_path: Path) -> None:
    with Controller(tmp_path / "data").start() as controller, controller.client() as client:
        doc = upload(client, "fleet/model")
        started = time.time()
        u1 = phone("u1", 6, "--network-schedule", "2:+home_u1")
        u2 = phone("u2", 0)
        with Fleet(client, [u1, u2], tmp_path, stores=tmp_path / "stores"):
            made = client.request("POST", "artifacts/fleet/model/preload-policies", json={
                "devices": {"owner": "u1", "charging": True, "unmetered": True}})
            assert made.status_code == 200, made.text
            policy = made.json()
            assert policy["applied"] == []  # u1's phone is not plugged in yet
            deadline = time.monotonic() + 30
            while not decisions(client, "fleet/model") and time.monotonic() < deadline:
                time.sleep(0.1)
            found = decisions(client, "fleet/model")
            held = client.request("GET", "artifacts/fleet/model").json()["copies"]
        assert [(d["invoker"], d["status"]) for d in found] == [("u1-phone", "preloaded")]
        assert found[0]["artifact"] == f"guest/fleet/model@{doc['version']}"
        assert found[0]["reason"] == "standing policy: owner u1, charging, unmetered"
        assert found[0]["at"] / 1000 >= started + 6, "preloaded before it was plugged in"
        assert "u1-phone" in held and "u2-phone" not in held
        gone = client.request("DELETE",
                              f"artifacts/fleet/model/preload-policies/{policy['id']}")
        assert gone.status_code == 200 and gone.json()["deleted"] is True
        assert client.request("GET", "artifacts/fleet/model/preload-policies").json() == []


def test_bad_policies_are_refused_and_change_nothing(tmp_path: Path) -> None:
    with Controller(tmp_path / "data").start() as controller, controller.client() as client:
        upload(client, "fleet/model")
        cases = [
            ("fleet/model", {"devices": []}, 400, "devices: must be an object"),
            ("fleet/model", {"devices": {"charging": "yes"}}, 400,
             "devices.charging: must be true or false"),
            ("fleet/model", {"devices": {"unmetered": 1}}, 400,
             "devices.unmetered: must be true or false"),
            ("fleet/model", {"devices": {"site": 3}}, 400, "devices.site: must be a string"),
            ("fleet/model", {"devices": {"moon": True}}, 400, "unknown field 'moon'"),
            ("fleet/model", {"selector": {}}, 400, "selector"),
            ("fleet/none", {"devices": {}}, 404, "no artifact fleet/none"),
        ]
        for name, body, status, words in cases:
            answer = client.request("POST", f"artifacts/{name}/preload-policies", json=body)
            assert answer.status_code == status, (body, answer.text)
            assert words in answer.json()["error"], (body, answer.text)
        assert client.request("GET", "artifacts/fleet/model/preload-policies").json() == []
        missing = client.request("DELETE", "artifacts/fleet/model/preload-policies/nope")
        assert missing.status_code == 404


USES_MODEL = '''
from edgewhisk import consumes, policy

@consumes.model("m")
@policy.fn(node="u1_device", strict=True)
def main(args, m):
    return {"used": m.path.name}
'''


def test_the_predictor_preloads_the_new_version_a_device_will_need(tmp_path: Path) -> None:
    """u1's phone ran an action consuming model ``m``; a new version of ``m`` arrives; when the
    phone is plugged in (on an unmetered network) the predictor preloads it, saying why."""
    scope: dict[str, Any] = {}
    exec(compile(USES_MODEL, "uses_m.py", "exec"), scope)  # noqa: S102
    annotations = [{"key": "edgewhisk", "value": describe(scope["main"])}]
    with Controller(tmp_path / "data").start() as controller, controller.client() as client:
        first = upload(client, "m")
        started = time.time()
        u1 = AgentSpec("u1-phone", (
            "--owner", "u1", "--memory", "512", "--context-interval", "0.2", "--network", "wifi",
            "--battery-sim", f"level=0.5,idle=0,load=0,charge=0.0001,period={PERIOD_S},"
                             f"plugged={PERIOD_S - 8}"))
        with Fleet(client, [u1], tmp_path, stores=tmp_path / "stores"):
            client.actions.put("uses-m", {"exec": {"kind": "python:3", "code": USES_MODEL},
                                          "annotations": annotations})
            ran = client.actions.invoke("uses-m")
            assert ran.success, ran.record
            second = upload(client, "m")
            assert second["version"] == first["version"] + 1
            deadline = time.monotonic() + 30
            while not decisions(client, "m") and time.monotonic() < deadline:
                time.sleep(0.1)
            found = decisions(client, "m")
            shown = client.request("GET", "invokers").json()[0]["preloads"]
        assert [(d["invoker"], d["artifact"], d["status"]) for d in found] == [
            ("u1-phone", f"guest/m@{second['version']}", "preloaded")]
        assert found[0]["policy"] == "predictor"
        assert found[0]["reason"].startswith("predicted: u1 needed m 1.0 times, mostly around ")
        assert found[0]["at"] / 1000 >= started + 8, "preloaded while discharging"
        assert shown == found
