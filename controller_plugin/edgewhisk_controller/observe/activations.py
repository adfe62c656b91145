"""The series of finished activations, recorded from the dispatcher's stored records.

Why from the record: it is the one value that says how an activation ended (status code,
invoker, duration, gate verdicts), and every activation is recorded exactly once, so counting
records counts activations. Trigger activations (no ``kind`` annotation, no ``end``) count as
trigger firings instead.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.metrics_core import Metric

from .tally import Tally, counter, histogram

STATUS = {0: "success", 1: "application_error", 2: "developer_error", 3: "whisk_error"}
"""OpenWhisk's ``statusCode`` names (the record's ``response.status``)."""
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


READ = frozenset({"kind", "path", "invoker", "gates"})
"""The annotations the series read (a stored record carries a dozen)."""


def _annotations(record: Mapping[str, Any]) -> dict[str, Any]:
    """The record's annotations the series read (``READ``), the first of a repeated key
    winning (as a lookup would): one pass that keeps only those and stops once it has all."""
    notes: dict[str, Any] = {}
    for item in record.get("annotations") or ():
        key = item.get("key")
        if isinstance(key, str) and key in READ and key not in notes:
            notes[key] = item.get("value")
            if len(notes) == len(READ):
                break
    return notes


class ActivationSeries:
    """Activations by action/status/invoker, their durations, gate verdicts, trigger firings."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.activations: dict[tuple[str, ...], int] = {}
        """By (namespace, action, status, invoker): every record's, so plain numbers read at
        scrape time (``tally``), like the durations by status."""
        self.duration: dict[str, Tally] = {}
        registry.register(self)
        self.verdicts = Counter(
            "edgewhisk_gate_verdicts", "Gate verdicts judged, by gate type and outcome",
            ("gate", "verdict"), registry=registry)
        self.firings = Counter(
            "edgewhisk_trigger_firings", "Trigger activations recorded, by trigger",
            ("namespace", "trigger"), registry=registry)

    def observe(self, record: Mapping[str, Any]) -> None:
        """Count one stored record (the dispatcher calls this once per activation)."""
        ns, name = str(record.get("namespace", "")), str(record.get("name", ""))
        notes = _annotations(record)
        if notes.get("kind") is None and "end" not in record:
            self.firings.labels(ns, name).inc()
            return
        code = (record.get("response") or {}).get("statusCode", 3)
        status = STATUS.get(code, "whisk_error")
        path = notes.get("path") or f"{ns}/{name}"
        labels = (ns, str(path), status, str(notes.get("invoker") or ""))
        self.activations[labels] = self.activations.get(labels, 0) + 1
        duration = record.get("duration")
        if isinstance(duration, int | float):
            tally = self.duration.get(status)
            if tally is None:
                tally = self.duration[status] = Tally(DURATION_BUCKETS)
            tally.observe(duration / 1000.0)
        for entry in notes.get("gates") or ():
            if isinstance(entry, dict):
                self.verdicts.labels(str(entry.get("type", "")), _verdict(entry)).inc()

    def collect(self) -> Iterator[Metric]:
        """The record series at scrape time (``prometheus_client``'s collector protocol)."""
        yield counter("edgewhisk_activations",
                      "Activations recorded, by action, status and invoker",
                      ("namespace", "action", "status", "invoker"), self.activations)
        yield histogram("edgewhisk_activation_duration_seconds",
                        "Run time of recorded activations", ("status",),
                        [((status,), tally) for status, tally in self.duration.items()])


def _verdict(entry: Mapping[str, Any]) -> str:
    """A gate entry's outcome in one word (``artifacts.gates``' entries; ``refused``: a
    strict gate held the activation back before it ran)."""
    if entry.get("refused"):
        return "refused"
    if entry.get("error"):
        return "error"
    if entry.get("held"):
        return "held"
    return "fired" if entry.get("fired") else "passed"
