"""A fan-out invocation: a parent record plus one child activation per user on record.

Why a parent record: the caller gets one activation id back, as for any invoke, and can list
the children by it (each child's ``cause`` is the parent's id). The parent is recorded as soon
as the children are placed and started: its result is the ``fanout`` summary (every child's
user, activation id and invoker; the users left out and why), and its logs say why each
excluded user was left out. With no child at all the parent is a whisk internal error whose
message says why (nobody on record, or no user with a feasible invoker).

A blocking invoke waits for the children up to the wait limit and adds each finished
child's ``response`` to its entry; the parent record stays as stored.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

from .. import preprocess
from ..placement.interface import Decision, PlacementRequest
from ..schema import activation as act
from ..schema import stored
from .job import Job

if TYPE_CHECKING:
    from ..preprocess import BoundAction, CompiledAction

FANOUT_ANNOTATION = "fanout"
"""Annotation of the parent record: how many children it started."""


class FanOutEngine(Protocol):
    """What a fan-out needs of the dispatcher."""

    def owners(self, ns: str) -> Sequence[str]: ...

    def place_many(self, request: PlacementRequest,
                   bounds: Sequence[BoundAction]) -> Sequence[Decision]: ...

    def start(self, job: Job) -> tuple[str, asyncio.Task[act.ActivationRecord]]: ...

    async def accept(self, ids: Sequence[str]) -> None: ...

    async def record(self, rec: act.ActivationRecord) -> act.ActivationRecord: ...


def _parent(job: Job, activation_id: str, summary: dict[str, Any], reason: str,
            logs: list[str]) -> act.ActivationRecord:
    end = int(time.time() * 1000)
    response = (act.success({"fanout": summary}) if not reason else
                act.Response(act.WHISK_ERROR, {act.ERROR_FIELD: reason, "fanout": summary}))
    annotations = act.run_annotations(
        path=stored.action_path(job.ns, job.action),
        kind=stored.exec_of(job.action)["kind"],
        limits=stored.limits(job.action),
        timeout=False,
        wait_ms=end - job.received_ms,
        init_ms=None,
        invoker=None,
    )
    annotations.append({"key": FANOUT_ANNOTATION, "value": len(summary["activations"])})
    return act.record(
        namespace=job.ns, name=job.action["name"], version=str(job.action.get("version", "0.0.1")),
        subject=job.subject, activation_id=activation_id, start=job.received_ms, end=end,
        response=response, logs=logs, annotations=annotations, cause=job.cause,
    )


async def run(
    engine: FanOutEngine,
    job: Job,
    compiled: CompiledAction,
    request: PlacementRequest,
    *,
    site: str | None,
    blocking: bool,
    wait_s: float,
) -> tuple[str, act.ActivationRecord | None, dict[str, Any]]:
    """Fan ``job`` out over the users on record; answer (parent id, record, summary).

    The record is None for a non-blocking call; ``UnboundVariable`` propagates when a
    variable other than ``{usr}`` is missing (a 400 before anything started).
    """
    merged = stored.merged_parameters(job.action, job.payload)
    users = engine.owners(job.ns)
    result = preprocess.fan_out(compiled, merged, users,
                                lambda bounds: engine.place_many(request, bounds),
                                site=site)
    parent_id = act.new_activation_id()
    tasks: list[asyncio.Task[act.ActivationRecord]] = []
    ids: list[str] = []
    for child in result.children:
        payload = {**job.payload, preprocess.FANOUT_VARIABLE: child.user}
        child_job = replace(job, payload=payload, cause=parent_id, bound=child.bound,
                            invoker=child.invoker)
        child_id, task = engine.start(child_job)
        ids.append(child_id)
        tasks.append(task)
    await engine.accept(ids)  # the answer hands their ids out
    summary = result.summary(ids)
    logs = [f"{user}: {why}" for user, why in result.excluded.items()]
    parent = await engine.record(_parent(job, parent_id, summary, result.reason, logs))
    if not blocking:
        return parent_id, None, summary
    if tasks:
        await asyncio.wait(set(tasks), timeout=wait_s)
    answered = {**summary, "activations": [
        {**entry, "response": task.result()["response"]}
        if task.done() and not task.cancelled() and task.exception() is None else entry
        for entry, task in zip(summary["activations"], tasks, strict=True)]}
    return parent_id, parent, answered
