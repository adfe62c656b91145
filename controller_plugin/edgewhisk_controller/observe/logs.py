"""Log lines as text or as JSON (``--log-format json``), and the access and audit loggers.

Why JSON on request: a log shipper (journald to Loki, Fluent Bit, CloudWatch) indexes fields,
not sentences. Each record becomes one object per line: ``time`` (ISO 8601, UTC), ``level``,
``logger``, ``message``, and the record's ``fields`` (what the access and audit logs pass as
``extra={"fields": {...}}``), so a line's facts are never parsed back out of its text.
"""

from __future__ import annotations

import datetime
import json
import logging
import sys
from typing import Any

FORMATS = ("text", "json")
TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
ACCESS = logging.getLogger("edgewhisk.access")
"""One line per HTTP request: method, path, status, milliseconds, namespace."""
AUDIT = logging.getLogger("edgewhisk.audit")
"""One line per change of a key, a device token or a namespace: who, what, which."""


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC)
            .isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure(level: str, format: str) -> None:
    """Log to stderr at ``level``, as ``format`` (one of ``FORMATS``).

    No line shows its caller's file, process or thread (``TEXT`` and ``JsonFormatter`` name
    neither), so records are made without them (the logging HOWTO's "Optimization"): finding
    the caller walks the stack on every line, and the access log writes a line per request.
    """
    logging._srcfile = None  # type: ignore[attr-defined]  # noqa: SLF001  (the HOWTO's way)
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if format == "json" else logging.Formatter(TEXT))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)


def fields(**values: Any) -> dict[str, Any]:
    """``extra=`` of a structured line: the values as JSON fields (text logs show the
    message, which says the same in words)."""
    return {"fields": values}
