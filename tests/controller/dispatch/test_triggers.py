"""Firing triggers through their rules, with real invokers (upstream's TriggersApi.activate)."""

from __future__ import annotations

import json
from typing import Any

from edgewhisk_controller.dispatch import triggers

from .conftest import NS, SUBJECT, Env, Run


def _trigger(name: str, rules: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "_id": f"{NS}/{name}", "namespace": NS, "name": name, "version": "0.0.2",
        "parameters": [{"key": k, "value": v} for k, v in parameters.items()],
        "annotations": [], "limits": {}, "publish": False, "rules": rules,
    }


def _rule(action: str, status: str) -> dict[str, Any]:
    return {"action": {"name": action, "path": NS}, "status": status}


def test_firing_invokes_the_active_rules_action_and_records_the_trigger(
    make_env: Any, run: Run
) -> None:
    env: Env = make_env()
    trigger = _trigger("t", {f"{NS}/on": _rule("echo", "active"),
                             f"{NS}/off": _rule("other", "inactive")},
                       {"from_trigger": 1, "x": "trigger"})

    async def scenario() -> tuple[str, Any, Any]:
        await env.put_action("echo", "def main(args):\n    return args\n")
        await env.put_action("other", "def main(args):\n    return {}\n")
        trigger_id = await env.dispatcher.fire(NS, trigger, {"x": "payload"}, subject=SUBJECT)
        assert trigger_id is not None
        rec = await env.record(trigger_id)
        fired = json.loads(rec["logs"][0])
        return trigger_id, rec, await env.record(fired["activationId"])

    trigger_id, rec, fired = run(scenario())
    assert list(rec) == ["namespace", "name", "version", "subject", "activationId", "start",
                         "response", "logs", "annotations", "publish"]
    assert (rec["name"], rec["version"], rec["activationId"]) == ("t", "0.0.2", trigger_id)
    assert rec["response"] == {"status": "success", "statusCode": 0, "success": True,
                               "result": {"x": "payload"}}
    assert rec["annotations"] == []
    on, off = (json.loads(line) for line in rec["logs"])
    assert on == {"rule": f"{NS}/on", "action": f"{NS}/echo", "statusCode": 0,
                  "success": True, "activationId": fired["activationId"]}
    assert off == {"rule": f"{NS}/off", "action": f"{NS}/other", "statusCode": 1,
                   "success": False,
                   "error": triggers.inactive_rule(f"{NS}/off", f"{NS}/other")}
    assert fired["name"] == "echo"
    assert fired["cause"] == trigger_id
    assert fired["response"]["result"] == {"from_trigger": 1, "x": "payload"}


def test_a_rule_whose_action_is_gone_is_logged_as_not_found(make_env: Any, run: Run) -> None:
    env: Env = make_env()
    trigger = _trigger("t", {f"{NS}/r": _rule("gone", "active")}, {})

    async def scenario() -> Any:
        return await env.record(await env.dispatcher.fire(NS, trigger, {}, subject=SUBJECT))

    rec = run(scenario())
    assert json.loads(rec["logs"][0])["error"] == triggers.NOT_FOUND
    assert rec["response"]["result"] == {}


def test_a_trigger_without_active_rules_records_nothing(make_env: Any, run: Run) -> None:
    env: Env = make_env()
    trigger = _trigger("t", {f"{NS}/off": _rule("a", "inactive")}, {})

    async def scenario() -> tuple[Any, int]:
        return await env.dispatcher.fire(NS, trigger, {}, subject=SUBJECT), await env.count()

    assert run(scenario()) == (None, 0)
