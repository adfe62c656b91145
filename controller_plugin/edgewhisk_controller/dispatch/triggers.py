"""Firing a trigger: record the trigger activation, invoke each active rule's action.

As upstream's ``TriggersApi.activate``: a trigger without an active rule records nothing; else
the trigger activation's result is the fired payload, it has no ``end``/``duration``, and its
``logs`` hold one JSON line per rule (``rule``, ``action``, ``statusCode``, ``success`` and the
action's ``activationId`` or an ``error``: inactive rules say so). Each active rule's action
is invoked non-blocking with the trigger's parameters merged under the payload; unlike
upstream, those activations carry ``cause`` = the trigger activation id (our plan), so that
they can be traced back to the firing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from ..exceptions import Forbidden, NotFound
from ..schema import activation as act
from ..schema import entity, stored
from ..stores import Doc
from .job import Engine, Job

NOT_FOUND = "The requested resource does not exist."
NOT_AUTHORIZED = "The supplied authentication is not authorized to access this resource."
INTERNAL = "There was an internal server error."


def inactive_rule(rule: str, action: str) -> str:
    return f"Rule '{rule}' is inactive, action '{action}' was not activated."


def _line(rule: str, action: str, code: int, outcome: Mapping[str, str]) -> str:
    return json.dumps(
        {"rule": rule, "action": action, "statusCode": code, "success": code == act.SUCCESS,
         **outcome},
        separators=(",", ":"),
    )


def is_active(rule: Any) -> bool:
    return isinstance(rule, Mapping) and rule.get("status") == "active"


async def fire(
    engine: Engine,
    ns: str,
    trigger: Doc,
    params: dict[str, Any],
    *,
    subject: str,
    api_key: str | None = None,
) -> str | None:
    """Fire ``trigger`` in ``ns``; the trigger activation id, or None without active rules.

    The payload and the trigger's parameters merged under it are validated first (400/413,
    ``entity.check_payload``): a value that cannot be recorded must fail before any rule's
    action runs, or a client retrying the 4xx would fire the rules twice."""
    rules: Mapping[str, Any] = trigger.get("rules") or {}
    args = stored.merged_parameters(trigger, params)
    entity.check_payload(args, "trigger parameters")
    if not any(is_active(rule) for rule in rules.values()):
        return None
    trigger_id = act.new_activation_id()
    start = int(time.time() * 1000)
    logs = [
        await _activate_rule(engine, ns, name, rule, args, subject, api_key, trigger_id, start)
        for name, rule in rules.items()
    ]
    await engine.record(
        act.record(
            namespace=ns,
            name=trigger.get("name", ""),
            version=str(trigger.get("version", "0.0.1")),
            subject=subject,
            activation_id=trigger_id,
            start=start,
            end=None,
            response=act.success(params or {}),
            logs=logs,
        )
    )
    return trigger_id


async def _activate_rule(
    engine: Engine,
    ns: str,
    rule_name: str,
    rule: Any,
    args: dict[str, Any],
    subject: str,
    api_key: str | None,
    cause: str,
    received_ms: int,
) -> str:
    """Invoke one rule's action non-blocking; its line in the trigger activation's logs."""
    ref = rule.get("action") if isinstance(rule, Mapping) else None
    ref = ref if isinstance(ref, Mapping) else {}
    path, name = str(ref.get("path", "")), str(ref.get("name", ""))
    action_path = stored.path(path, name)
    if not is_active(rule):
        error = inactive_rule(rule_name, action_path)
        return _line(rule_name, action_path, act.APPLICATION_ERROR, {"error": error})
    if path.split("/", 1)[0] != ns:
        return _line(rule_name, action_path, act.APPLICATION_ERROR, {"error": NOT_AUTHORIZED})
    try:
        resolved = await engine.resolve(ns, f"/{action_path}")
    except (NotFound, Forbidden):
        return _line(rule_name, action_path, act.APPLICATION_ERROR, {"error": NOT_FOUND})
    job = Job(ns, resolved.action, dict(args), subject, received_ms, api_key, cause=cause,
              binding=resolved.binding)
    try:  # durably accepted before the firing's 202 hands its id out (in the logs)
        activation_id, _ = await engine.start_accepted(job)
    except Exception:
        return _line(rule_name, action_path, act.WHISK_ERROR, {"error": INTERNAL})
    return _line(rule_name, action_path, act.SUCCESS, {"activationId": activation_id})
