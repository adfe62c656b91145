"""Deferred placement with real agents: work that waits for its moment (``policy.wait``).

A controller (``edgewhisk controller`` through the devkit) and edge agents (``edgewhisk
invoker``) whose battery and networks follow the documented simulator's schedule
(``edgewhisk_invoker.context``: ``--battery-sim ...,period=P,plugged=Q`` plugs the device in
``P - Q`` seconds after start; ``--network-schedule T:+NAME`` joins a network T seconds after
start). The retrain waits for "charging and on the home network": it runs once, within about
one context interval after both hold, and never before; it survives a controller restart;
an expired wait is recorded naming ``context(charging)``; a pending activation is listed and
can be cancelled.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from edgewhisk import describe
from edgewhisk_devkit import AgentSpec, Fleet
from edgewhisk_devkit.agent import Agent, tunnel_url

from ..api.harness import Client, Controller, create_action

INTERVAL_S = 0.2
"""The agents' context interval (``--context-interval``)."""
RETRAIN = "def main(args):\n    return {'retrained': args.get('user')}\n"


def retrain_annotation(wait: str, *, network: str = "home_u1") -> list[dict[str, Any]]:
    return [{"key": "edgewhisk", "value": {"version": 1, "policies": [
        {"type": "fn", "node": "u1_device", "strict": True},
        {"type": "context", "charging": True, "network": network, "strict": True},
        {"type": "wait", "within": wait}]}}]


def phone(plugged_after_s: float, home_after_s: float, *, name: str = "u1-phone") -> AgentSpec:
    """u1's phone: discharging until ``plugged_after_s``, home after ``home_after_s``."""
    period = 10_000.0
    return AgentSpec(name, (
        "--owner", "u1", "--memory", "1024", "--context-interval", str(INTERVAL_S),
        "--battery-sim", f"level=0.5,idle=0,load=0,charge=0.0001,period={period:g},"
                         f"plugged={period - plugged_after_s:g}",
        "--network", "cell", "--network-schedule", f"{home_after_s:g}:+home_u1",
        "--backoff-cap", "1"))


def _annotation(record: dict[str, Any], key: str) -> Any:
    return next((a["value"] for a in record["annotations"] if a["key"] == key), None)


def _pending(client: Client, count: int = 1, timeout_s: float = 20.0) -> list[dict[str, Any]]:
    """The pending listing once it holds ``count`` activations (placement runs behind a 202;
    after a restart, recovery launches them again first)."""
    deadline = time.monotonic() + timeout_s
    while True:
        listed: list[dict[str, Any]] = client.request("GET", "activations?status=pending").json()
        if len(listed) == count or time.monotonic() > deadline:
            return listed
        time.sleep(0.05)


def _records(client: Client, name: str) -> list[dict[str, Any]]:
    return [r for r in client.request("GET", "activations?docs=true").json()
            if r["name"] == name]


def readme_example() -> tuple[str, list[dict[str, Any]]]:
    """The README's 'Work that waits for its moment' example: its code and annotation."""
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Work that waits for its moment", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert code is not None, "the section has a Python example"
    scope: dict[str, Any] = {}
    exec(compile(code.group(1), "README.md", "exec"), scope)  # noqa: S102
    return code.group(1), [{"key": "edgewhisk", "value": describe(scope["main"])}]


def test_a_retrain_waits_for_charging_and_home_then_runs_once(tmp_path: Path) -> None:
    """The README's example, as written."""
    root = tmp_path
    code, annotations = readme_example()
    assert annotations[0]["value"]["policies"][-1] == {"type": "wait", "within": "6h"}
    with Controller(root / "data").start() as controller, controller.client() as client:
        create_action(client, "retrain", code, annotations=annotations)
        started = time.time()
        with Fleet(client, [phone(plugged_after_s=6, home_after_s=3)], root):
            registered = time.time()
            answer = client.request("POST", "actions/retrain?blocking=true&timeout=1000",
                                    json={"user": "u1"})
            assert answer.status_code == 202, answer.text
            body = answer.json()
            assert body["status"] == "pending" and "waiting for an invoker" in body["message"]
            assert "failing context(charging)" in body["pending"]["reason"]
            activation_id = body["activationId"]
            listed = client.request("GET", "activations?status=pending").json()
            assert [p["activationId"] for p in listed] == [activation_id]
            assert client.request("GET", f"activations/{activation_id}").status_code == 202
            record = client.activations.wait(activation_id, 30.0, every_s=0.1)
        assert record["response"]["result"] == {"retrained": "u1"}
        assert _annotation(record, "invoker") == "u1-phone"
        waited = _annotation(record, "pending")
        assert waited["placed"] is True
        assert "failing context(charging)" in waited["waited_for"]
        placed_s = waited["ended"] / 1000
        # both hold 6 s after the agent started (between ``started`` and ``registered``)
        assert placed_s >= started + 6.0, "placed before the phone was plugged in"
        assert placed_s <= registered + 6.0 + INTERVAL_S + 1.0, "placed late"
        assert len(_records(client, "retrain")) == 1
        assert client.request("GET", "activations?status=pending").json() == []


def test_pending_work_survives_a_controller_restart(tmp_path: Path) -> None:
    root = tmp_path
    data = root / "data"
    first = Controller(data).start()
    try:
        with first.client() as client:
            create_action(client, "retrain", RETRAIN, annotations=retrain_annotation("1m"))
            token = client.tokens.create("u1-phone")["token"]
            answer = client.request("POST", "actions/retrain", json={"user": "u1"})
            assert answer.status_code == 202, answer.text
            activation_id = answer.json()["activationId"]
            assert [p["activationId"] for p in _pending(client)] == [activation_id]
    finally:
        first.stop()
    with Controller(data).start() as controller, \
            controller.client() as client:
        listed = _pending(client)
        assert [p["activationId"] for p in listed] == [activation_id]
        assert listed[0]["waiting_for"]  # nobody is registered yet: why it waits
        spec = phone(plugged_after_s=1, home_after_s=0)
        agent = Agent(tunnel_url(client.api_host), str(token), *spec.options, id=spec.id,
                      log=root / "agent.log", own_group=True).start()
        try:
            record = client.activations.wait(activation_id, 30.0, every_s=0.1)
        finally:
            agent.stop()
        assert record["response"]["result"] == {"retrained": "u1"}
        assert len(_records(client, "retrain")) == 1


def test_an_expired_wait_is_recorded_naming_the_unmet_constraint(tmp_path: Path) -> None:
    root = tmp_path
    with Controller(root / "data").start() as controller, controller.client() as client, \
            Fleet(client, [phone(plugged_after_s=600, home_after_s=0)], root):
        create_action(client, "retrain", RETRAIN, annotations=retrain_annotation("2s"))
        activation_id = client.request("POST", "actions/retrain", json={}).json()["activationId"]
        record = client.activations.wait(activation_id, 30.0, every_s=0.1)
    assert record["response"]["status"] == "whisk internal error"
    error = record["response"]["result"]["error"]
    assert error == ("No invoker satisfied the activation's constraints within its wait of 2s: "
                     "0/2 invokers are available: 1 not matching node u1_device, "
                     "1 failing context(charging).")  # the controller's local0 and the phone
    assert _annotation(record, "pending")["placed"] is False


def test_a_pending_activation_is_cancelled_and_recorded_once(tmp_path: Path) -> None:
    root = tmp_path
    with Controller(root / "data").start() as controller, controller.client() as client:
        create_action(client, "retrain", RETRAIN, annotations=retrain_annotation("1h"))
        activation_id = client.request("POST", "actions/retrain", json={}).json()["activationId"]
        assert [p["activationId"] for p in _pending(client)] == [activation_id]
        cancelled = client.request("DELETE", f"activations/{activation_id}")
        assert cancelled.status_code == 200, cancelled.text
        error = cancelled.json()["response"]["result"]["error"]
        assert error.startswith("The activation was cancelled while it waited for an invoker")
        again = client.request("DELETE", f"activations/{activation_id}")
        assert again.status_code == 409 and "not pending" in again.json()["error"]
        assert client.request("DELETE", "activations/0123456789abcdef").status_code == 404
        bad = client.request("GET", "activations?status=waiting")
        assert bad.status_code == 400 and "pending" in bad.json()["error"]
        assert client.activations.get(activation_id)["activationId"] == activation_id
        assert client.request("GET", "activations?status=pending").json() == []


def test_a_sequence_component_does_not_wait(tmp_path: Path) -> None:
    """Only an activation invoked on its own waits: a component fails at once, as before."""
    with Controller(tmp_path / "data").start() as controller, controller.client() as client:
        create_action(client, "retrain", RETRAIN, annotations=retrain_annotation("1h"))
        made = client.request("PUT", "actions/then-retrain", json={"exec": {
            "kind": "sequence", "components": ["/_/retrain"]}})
        assert made.status_code == 200, made.text
        answer = client.request("POST", "actions/then-retrain?blocking=true", json={})
        assert answer.status_code == 500, answer.text  # a whisk internal error, as before
        assert answer.json()["response"]["result"]["error"] == \
            "0/1 invokers are available: 1 not matching node u1_device."
        assert client.request("GET", "activations?status=pending").json() == []
