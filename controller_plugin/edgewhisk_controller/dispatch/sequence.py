"""Sequences, as upstream's ``SequenceActions`` runs them.

A sequence's components run one after the other, each as an activation of its own (placed by
its own ``edgewhisk`` policies, recorded with ``cause`` = the sequence's activation id and
``causedBy: sequence``). The first gets the sequence's input; each next one the previous
result (an object or an array; anything else is no input). A result with an ``error`` field
ends the sequence, and that activation's response is the sequence's; a component that does not
exist (or may not be run) ends it with an application error, a component that cannot be
waited for with a whisk error. A component that is itself a sequence runs nested: its own
record (``topmost: false``, ``causedBy: sequence``, ``cause`` = the outer sequence), counted
against the same limit of 50 atomic actions.

The sequence's own record lists the component activation ids in ``logs``, its ``duration`` is
the sum of theirs, and its annotations are upstream's (``topmost``, ``path``, ``kind:
sequence``, ``waitTime``, ``binding``, ``limits`` with the largest memory seen).

``check_components`` is what creating or updating a sequence checks against the store, as
upstream's ``checkSequenceActionLimits``: every component exists and may be read, the sequence
never contains itself (also through nested sequences), and at most 50 atomic actions.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from ..exceptions import BadRequest, ControllerError, Forbidden, NotFound
from ..schema import activation as act
from ..schema import sequence as seq
from ..schema import stored
from ..stores import Store
from . import resolve
from .job import COMPONENT_WAIT_EXTRA_S, Accounting, Engine, Job

log = logging.getLogger(__name__)

FAILED = "Sequence failed."


def retrieve_timeout(activation_id: str) -> str:
    return f"Timeout reached when retrieving activation {activation_id} for sequence component."


@dataclass
class Run:
    """One sequence activation's progress: the ids it ran, the time they took."""

    job: Job
    activation_id: str
    start_ms: int
    logs: list[str] = field(default_factory=list)
    duration_ms: int = 0
    max_memory: int | None = None


async def run(engine: Engine, job: Job, activation_id: str,
              accounting: Accounting) -> act.ActivationRecord:
    """Run the sequence ``job.action`` on ``job.payload``; store and return its record."""
    state = Run(job, activation_id, int(time.time() * 1000))
    try:
        response = await _components(engine, state, accounting)
    except asyncio.CancelledError:
        await engine.record(_record(state, act.whisk_error(act.ABORTED)))
        raise
    except Exception:
        log.exception("sequence %s failed inside the controller", activation_id)
        response = act.whisk_error(FAILED)
    return await engine.record(_record(state, response))


async def _components(engine: Engine, state: Run, accounting: Accounting) -> act.Response:
    value: Any = state.job.payload
    response = act.success(value)
    for component in state.job.action["exec"][seq.COMPONENTS]:
        if accounting.components >= accounting.limit:
            return act.application_error(seq.TOO_LONG)
        try:
            resolved = await engine.resolve(state.job.ns, component)
        except NotFound:
            return act.application_error(seq.COMPONENT_NOT_FOUND)
        except Forbidden as exc:
            return act.application_error(exc.message)
        payload = value if isinstance(value, dict) else {}
        outcome = await _component(engine, state, accounting, resolved, payload)
        if isinstance(outcome, act.Response):
            return outcome
        response = act.Response(outcome["response"]["statusCode"],
                                outcome["response"]["result"])
        value = response.result
        if isinstance(value, dict) and act.ERROR_FIELD in value:
            return response
    return response


async def _component(engine: Engine, state: Run, accounting: Accounting,
                     resolved: resolve.Resolved, payload: dict[str, Any]
                     ) -> act.ActivationRecord | act.Response:
    """Start one component and wait for its record (its id logged in the sequence's)."""
    action = resolved.action
    nested = stored.is_sequence(action) or stored.is_conductor(action)
    if not nested:
        accounting.components += 1
    job = Job(state.job.ns, action, payload, state.job.subject, int(time.time() * 1000),
              state.job.api_key, cause=state.activation_id, in_composition=True,
              binding=resolved.binding)
    try:
        activation_id, task = engine.start(job, accounting=accounting)
    except ControllerError:
        return act.whisk_error(FAILED)
    wait = None if nested else stored.limits(action)["timeout"] / 1000 + COMPONENT_WAIT_EXTRA_S
    state.logs.append(activation_id)
    done, _ = await asyncio.wait({task}, timeout=wait)
    if not done:
        return act.whisk_error(retrieve_timeout(activation_id))
    if task.exception() is not None:
        return act.whisk_error(FAILED)
    rec = task.result()
    state.duration_ms += rec.get("duration", 0)
    memory = _memory(rec)
    if memory is not None:
        state.max_memory = max(memory, state.max_memory or 0)
    return rec


def _memory(rec: act.ActivationRecord) -> int | None:
    for item in rec["annotations"]:
        if item["key"] == "limits" and isinstance(item["value"], dict):
            memory = item["value"].get("memory")
            return int(memory) if isinstance(memory, int) else None
    return None


def _record(state: Run, response: act.Response) -> act.ActivationRecord:
    job = state.job
    limits = stored.limits(job.action)
    if state.max_memory is not None:
        limits = {**limits, "memory": state.max_memory}
    return act.record(
        namespace=job.ns,
        name=job.action.get("name", ""),
        version=str(job.action.get("version", "0.0.1")),
        subject=job.subject,
        activation_id=state.activation_id,
        start=state.start_ms,
        end=int(time.time() * 1000),
        duration=state.duration_ms,
        response=response,
        logs=state.logs,
        annotations=act.composition_annotations(
            path=stored.action_path(job.ns, job.action),
            limits=limits,
            topmost=not job.in_composition,
            wait_ms=state.start_ms - job.received_ms,
            conductor=False,
            binding=job.binding,
        ),
        cause=job.cause,
    )


async def check_components(store: Store, caller_ns: str, path: str,
                           components: list[str]) -> None:
    """400 unless every component exists (403 unless it may be read), none is the sequence
    ``path`` itself, directly or through nested sequences, and the sequence holds at most 50
    atomic actions."""
    count = await _count(store, caller_ns, path, components, depth=0)
    if count > seq.LIMIT:
        raise BadRequest(seq.TOO_LONG)


async def _count(store: Store, caller_ns: str, path: str, components: list[str],
                 depth: int) -> int:
    total = 0
    for component in components:
        ns, name = resolve.split_qualified(component, caller_ns)
        try:
            location, _ = await resolve.locate_action(store, caller_ns, ns, name)
            if location == path:  # before the read: the sequence may not exist yet
                raise BadRequest(seq.CYCLIC)
            resolved = await resolve.resolve_action(store, caller_ns, ns, name)
        except NotFound:
            raise BadRequest(seq.COMPONENT_NOT_FOUND) from None
        if stored.is_sequence(resolved.action):
            if depth >= seq.LIMIT:
                raise BadRequest(seq.TOO_LONG)
            total += await _count(store, caller_ns, path,
                                  resolved.action["exec"][seq.COMPONENTS], depth + 1)
        else:
            total += 1
        if total > seq.LIMIT:
            raise BadRequest(seq.TOO_LONG)
    return total
