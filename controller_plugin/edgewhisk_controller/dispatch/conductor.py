"""The conductor protocol (docs/openwhisk-contract.md, section 5), as upstream's
``PrimitiveActions``.

A conductor action (truthy ``conductor`` annotation) drives a composition: each of its results
either names the next component (``{"action", "params", "state"}``) or ends the composition.
The controller runs the conductor, invokes the component with ``params`` (a non-object boxed as
``{"value": v}``), then runs the conductor again on the component's result merged with
``state`` (state wins), until a result without ``action``; its ``params`` (or the whole result)
is the composition's result. Limits: 50 components (the conductor is then re-run with
``{"error": "Too many actions in the composition."}``) and 2n+1 conductor runs, shared with
nested compositions. Every conductor run and component is its own activation with ``cause``
= the composition's id; the composition's record lists them all in ``logs`` and mimics a
sequence's record (``kind: sequence``, ``topmost``, ``conductor: true``, summed duration,
the largest memory limit seen).

Why a loop over ``engine.start``: the dispatcher runs each step as a normal activation (placed,
recorded), so compositions get placement, records and shutdown handling for free.

Composer's ``parallel`` and ``map`` keep their branches' results in a Redis that the conductor
reads from its ``$composer.redis`` parameter ("at invocation time or earlier by means of
default parameters or package bindings", Composer's README). A controller started with
``--composer-redis URI`` is that default: a composition whose parameters name no Redis gets
``{"$composer": {"redis": {"uri": URI}}}`` (``with_redis``); one that names its own keeps it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from ..exceptions import Forbidden, NotFound
from ..schema import activation as act
from ..schema import stored
from ..stores import Doc
from .job import COMPONENT_WAIT_EXTRA_S, Accounting, Engine, Job

log = logging.getLogger(__name__)

# Upstream's messages (org.apache.openwhisk.http.Messages), word for word.
TOO_LONG = "Too many actions in the composition."
ACTIVATION_FAILURE = "Activation failure during composition."


def activation_timeout(activation_id: str) -> str:
    return f"Timeout reached when retrieving activation {activation_id} during composition."


def component_invalid(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return f"Failed to parse action name from json value {text} during composition."


def component_not_found(name: str) -> str:
    return f"Failed to resolve action with name '{name}' during composition."


def component_not_accessible(name: str) -> str:
    return f"Failed entitlement check for action with name '{name}' during composition."


@dataclass
class Session:
    """One composition's progress (not shared with nested compositions, unlike Accounting)."""

    job: Job
    activation_id: str
    accounting: Accounting
    start_ms: int
    max_memory: int
    logs: list[str] = field(default_factory=list)
    duration_ms: int = 0
    state: dict[str, Any] | None = None


def _now_ms() -> int:
    return int(time.time() * 1000)


def _box(value: Any, key: str) -> dict[str, Any]:
    return value if isinstance(value, dict) else {key: value}


def with_redis(payload: dict[str, Any], uri: str | None) -> dict[str, Any]:
    """``payload`` with ``$composer.redis`` set to ``uri`` when it names no Redis of its own
    (Composer reads it there; a branch of ``parallel``/``map`` already carries its parent's)."""
    composer = payload.get("$composer", {})
    if uri is None or not isinstance(composer, dict) or "redis" in composer:
        return payload
    return {**payload, "$composer": {**composer, "redis": {"uri": uri}}}


async def run(
    engine: Engine, job: Job, activation_id: str, accounting: Accounting,
    redis: str | None = None,
) -> act.ActivationRecord:
    """Run the composition of conductor action ``job.action``; store and return its record.
    ``redis``: the Redis URI its conductor gets unless its parameters name one."""
    lim = stored.limits(job.action)
    session = Session(job, activation_id, accounting, _now_ms(), lim["memory"])
    try:
        response = await _conduct(engine, session, with_redis(job.payload, redis))
    except asyncio.CancelledError:
        await engine.record(_record(session, act.whisk_error(act.ABORTED)))
        raise
    except Exception:
        log.exception("composition %s failed inside the controller", activation_id)
        response = act.whisk_error(act.INTERNAL_ERROR)
    return await engine.record(_record(session, response))


def _record(s: Session, response: act.Response) -> act.ActivationRecord:
    lim = {**stored.limits(s.job.action), "memory": s.max_memory}
    return act.record(
        namespace=s.job.ns,
        name=s.job.action.get("name", ""),
        version=str(s.job.action.get("version", "0.0.1")),
        subject=s.job.subject,
        activation_id=s.activation_id,
        start=s.start_ms,
        end=_now_ms(),
        duration=s.duration_ms,
        response=response,
        logs=s.logs,
        annotations=act.composition_annotations(
            path=stored.action_path(s.job.ns, s.job.action),
            limits=lim,
            topmost=not s.job.in_composition,
            wait_ms=s.start_ms - s.job.received_ms,
            binding=s.job.binding,
        ),
        cause=s.job.cause,
    )


async def _conduct(engine: Engine, s: Session, payload: dict[str, Any]) -> act.Response:
    acc = s.accounting
    while True:
        if acc.conductors > 2 * acc.limit:
            return act.application_error(TOO_LONG)
        params = payload if s.state is None else {**payload, **s.state}
        acc.conductors += 1
        step = await _step(engine, s, s.job.action, params, primitive=True,
                           binding=s.job.binding)
        if isinstance(step, act.Response):
            return step
        code, result = step["response"]["statusCode"], step["response"]["result"]
        if not isinstance(result, dict):
            return act.Response(code, result)
        next_params = _box(result["params"], "value") if "params" in result else None
        s.state = _box(result["state"], "state") if "state" in result else None
        if "action" not in result:
            return act.Response(code, next_params if next_params is not None else result)
        following = await _component(engine, s, result["action"], next_params or {})
        if isinstance(following, act.Response):
            return following
        payload = following


async def _component(
    engine: Engine, s: Session, name: Any, params: dict[str, Any]
) -> dict[str, Any] | act.Response:
    """Run the component ``name``; the next conductor payload, or the composition's end."""
    fqn = stored.resolve_name(name, s.job.ns)
    if fqn is None:
        return {"error": component_invalid(name)}
    if s.accounting.components >= s.accounting.limit:
        return {"error": TOO_LONG}
    path = stored.path(*fqn)
    try:  # another namespace's actions only through a package it shared
        found = await engine.resolve(s.job.ns, f"/{path}")
    except Forbidden:
        return {"error": component_not_accessible(path)}
    except NotFound:
        return {"error": component_not_found(path)}
    component = found.action
    if not stored.is_conductor(component):
        s.accounting.components += 1  # a nested composition counts its own
    step = await _step(engine, s, component, params, primitive=False, binding=found.binding)
    if isinstance(step, act.Response):
        return step
    return _box(step["response"]["result"], "value")


async def _step(
    engine: Engine, s: Session, action: Doc, params: dict[str, Any], *, primitive: bool,
    binding: str | None = None,
) -> act.ActivationRecord | act.Response:
    """Run one activation of the composition and wait for its record (logged in ``s``).

    ``primitive``: run ``action`` as a plain action even if it is a conductor (the conductor
    runs of this composition); a component that is a conductor is a nested composition,
    awaited without a time limit as upstream does.
    """
    job = Job(s.job.ns, action, params, s.job.subject, _now_ms(), s.job.api_key,
              cause=s.activation_id, in_composition=True, binding=binding)
    try:
        activation_id, task = engine.start(job, accounting=s.accounting, primitive=primitive)
    except Exception:
        return act.whisk_error(ACTIVATION_FAILURE)
    wait = None
    if primitive or not stored.is_conductor(action):
        wait = stored.limits(action)["timeout"] / 1000 + COMPONENT_WAIT_EXTRA_S
    s.logs.append(activation_id)  # before waiting: an aborted composition lists it too
    done, _ = await asyncio.wait({task}, timeout=wait)
    if not done:
        return act.whisk_error(activation_timeout(activation_id))
    if task.exception() is not None:
        return act.whisk_error(ACTIVATION_FAILURE)
    rec = task.result()
    s.duration_ms += rec.get("duration", 0)
    for item in rec["annotations"]:
        if item["key"] == "limits" and isinstance(item["value"], dict):
            s.max_memory = max(s.max_memory, int(item["value"].get("memory", 0)))
    return rec
