"""Activation records: what the Dispatcher stores for each activation, and how.

Why a module of its own: every way an activation ends (a run's outcome, a failure the
platform caused, a recovery after a crash) builds its record here (``schema.activation``),
and every record is stored once through the journal (``journal.py``) and then told to the
``on_record`` listeners (metrics). Mixed into ``Dispatcher`` (``dispatcher.py``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..schema import activation as act
from ..schema import stored
from .job import Job
from .journal import Journal

if TYPE_CHECKING:
    from edgewhisk_runtime.containers import ActionSpec, RunOutcome

log = logging.getLogger(__name__)



def now_ms() -> int:
    return int(time.time() * 1000)



class Records:
    """Building and storing activation records (a ``Dispatcher`` mixin)."""

    journal: Journal
    on_record: list[Callable[[act.ActivationRecord], None]]

    async def record(self, rec: act.ActivationRecord) -> act.ActivationRecord:
        """Store ``rec`` once, durably (activation ids are fresh: a duplicate would be a
        Conflict), dropping its ``accepted`` document in the same commit. A cancellation
        arriving mid-write does not cancel the write (``close`` waits for it)."""
        return self._recorded(await self.journal.finish(rec))

    def _recorded(self, rec: act.ActivationRecord) -> act.ActivationRecord:
        """Tell ``on_record`` about a stored record (a listener's bug never loses it)."""
        for listener in self.on_record:
            try:
                listener(rec)
            except Exception:
                log.exception("a record listener failed")
        return rec


    def outcome_record(self, job: Job, activation_id: str, spec: ActionSpec,
                       outcome: RunOutcome, invoker_id: str) -> act.ActivationRecord:
        """The record of a run that ended with ``outcome`` on ``invoker_id`` (recovery
        records an edge run it adopted with it too)."""
        ns, action = job.ns, job.action
        end = now_ms()
        run_start = end - outcome.duration_ms
        start = run_start - (outcome.init_ms or 0)
        response, timed_out = act.response_of(outcome, spec.timeout_ms)
        return self._build(
            job, activation_id, start, end, response, outcome.logs,
            act.run_annotations(
                path=stored.action_path(ns, action),
                kind=spec.kind,
                limits=stored.limits(action),
                timeout=timed_out,
                wait_ms=start - job.received_ms,
                init_ms=outcome.init_ms,
                invoker=invoker_id,
                caused_by_composition=job.in_composition,
                binding=job.binding,
            ),
        )

    def failure(
        self, job: Job, activation_id: str, message: str, invoker: str | None = None, *,
        response: act.Response | None = None,
    ) -> act.ActivationRecord:
        """A whisk internal error record for an activation the platform could not run (or
        the ``response`` given: a strict gate's fallback answered in its place)."""
        now = now_ms()
        kind = (job.action.get("exec") or {}).get("kind", "unknown")
        return self._build(
            job, activation_id, now, now, response or act.whisk_error(message), [],
            act.run_annotations(
                path=stored.action_path(job.ns, job.action),
                kind=kind if isinstance(kind, str) else "unknown",
                limits=stored.limits(job.action),
                timeout=False,
                wait_ms=now - job.received_ms,
                init_ms=None,
                invoker=invoker,
                caused_by_composition=job.in_composition,
                binding=job.binding,
            ),
        )

    @staticmethod
    def _build(
        job: Job,
        activation_id: str,
        start: int,
        end: int,
        response: act.Response,
        logs: list[str],
        annotations: list[act.Annotation],
    ) -> act.ActivationRecord:
        return act.record(
            namespace=job.ns,
            name=job.action.get("name", ""),
            version=str(job.action.get("version", "0.0.1")),
            subject=job.subject,
            activation_id=activation_id,
            start=start,
            end=end,
            response=response,
            logs=logs,
            annotations=annotations,
            cause=job.cause,
        )
