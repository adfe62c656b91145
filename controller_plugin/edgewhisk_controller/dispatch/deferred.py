"""Deferred placement: the dispatcher's step for an activation that may wait (``policy.wait``).

Why a step of its own: the dispatcher decides *whether* an unschedulable activation waits (its
action has ``policy.wait``); this module makes it wait durably (the accepted document marked
``pending``, ``journal.py``), hands it to ``PendingWork`` (``pending.py``) and turns how the
wait ended into what the dispatcher continues with: the invoker it was placed on, or the
record of an expired or cancelled wait, a whisk error naming what was unmet
(``0/2 invokers are available: 2 failing context(charging).``).

A wait survives a restart: recovery launches the activation again, placement fails again
until the device is back, and the wait resumes with the ``since`` and ``until`` its accepted
document kept (an expired one is recorded at once).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Protocol

from ..placement.interface import PlacementRequest, Unschedulable
from ..schema import activation as act
from .exceptions import PendingCancelled, PendingExpired
from .job import Job
from .pending import Waiting, now_ms

if TYPE_CHECKING:
    from ..placement.interface import PlacementEngine
    from ..preprocess import BoundAction
    from .journal import Journal
    from .pending import PendingWork


class Dispatcher(Protocol):
    """What waiting needs of the dispatcher (``dispatcher.Dispatcher`` is one)."""

    journal: Journal
    placement: PlacementEngine
    pending: PendingWork

    def failure(self, job: Job, activation_id: str, message: str,
                invoker: str | None = None) -> act.ActivationRecord: ...

ANNOTATION = "pending"
"""The record annotation of an activation that waited: since, placed (or ended) and what it
waited for."""


def expired_message(info: dict[str, Any]) -> str:
    waited = _seconds(info["until"] - info["since"])
    return (f"No invoker satisfied the activation's constraints within its wait of {waited}: "
            f"{info['reason']}")


def cancelled_message(info: dict[str, Any]) -> str:
    return f"The activation was cancelled while it waited for an invoker: {info['reason']}"


def _seconds(ms: int) -> str:
    s = ms / 1000
    for unit, size in (("h", 3600), ("m", 60)):
        if s >= size and s % size == 0:
            return f"{s / size:g}{unit}"
    return f"{s:g}s"


async def place_or_wait(d: Dispatcher, job: Job, activation_id: str,
                        request: PlacementRequest, bound: BoundAction,
                        first: Unschedulable) -> tuple[str | act.ActivationRecord, dict[str, Any]]:
    """Wait until ``job`` is placed: ``(invoker id, annotation)`` (the invoker already
    charged), or ``(record, annotation)`` of the wait that ended unplaced."""
    wait_s = bound.compiled.wait_s
    assert wait_s is not None, "only an action with policy.wait waits"
    known = d.journal.pending_of(activation_id)
    since = int(known["since"]) if known else now_ms()
    until = int(known["until"]) if known else since + int(wait_s * 1000)
    item = Waiting(activation_id, job.ns, request.action, since, until,
                   lambda: d.placement.place(request, bound), request.memory_mb, request.key,
                   first, asyncio.get_running_loop().create_future())
    info = item.describe()
    if until <= now_ms():  # it expired while the controller was down
        return d.failure(job, activation_id, expired_message(info)), _note(info, None)
    await d.journal.pending(activation_id, {k: info[k] for k in
                                            ("since", "until", "waiting_for", "reason")})
    try:
        invoker = await d.pending.wait(item)
    except PendingExpired as exc:
        return d.failure(job, activation_id, expired_message(exc.info)), _note(exc.info, None)
    except PendingCancelled as exc:
        return d.failure(job, activation_id, cancelled_message(exc.info)), _note(exc.info, None)
    return invoker, _note(info, invoker)


def _note(info: dict[str, Any], invoker: str | None) -> dict[str, Any]:
    return {"since": info["since"], "ended": now_ms(), "placed": invoker is not None,
            "waited_for": info["waiting_for"]}


def annotate(rec: act.ActivationRecord, note: dict[str, Any] | None) -> act.ActivationRecord:
    """``rec`` with the ``pending`` annotation of its wait (unchanged when it never waited)."""
    if note is None:
        return rec
    return {**rec, "annotations": [*rec["annotations"], {"key": ANNOTATION, "value": note}]}
