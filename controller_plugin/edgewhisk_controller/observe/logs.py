"""Log lines as text or as JSON (``--log-format json``), and the access and audit loggers.

Why JSON on request: a log shipper (journald to Loki, Fluent Bit, CloudWatch) indexes fields,
not sentences. Each record becomes one object per line: ``time`` (ISO 8601, UTC), ``level``,
``logger``, ``message``, and the record's ``fields`` (what the access and audit logs pass as
``extra={"fields": {...}}``), so a line's facts are never parsed back out of its text.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import sys
import time
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
    global _installed
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if format == "json" else logging.Formatter(TEXT))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    _installed = handler


_installed: logging.StreamHandler[Any] | None = None
"""The handler ``configure`` installed on the root logger (None: not configured here)."""


def direct(logger: logging.Logger) -> logging.StreamHandler[Any] | None:
    """The handler ``configure`` installed, when it is the only way out of ``logger`` (no
    handler or filter of its own or of an ancestor's but the root's one handler); else None,
    and lines go through ``logging`` as usual (a test's capture, another configuration).

    Why: made through ``logging`` (a ``LogRecord``, the formatter, the handler's call chain)
    an access line cost ~50 µs of a running controller's CPU per request, 6 % of a blocking
    invoke, for code that runs cold between two requests; ``write_info`` makes the same line
    in a few lines of code (docs/hotpath.md, sixth round)."""
    handler = _installed
    node: logging.Logger | None = logger
    while node is not None and node.parent is not None:  # the loggers below the root
        if node.handlers or node.filters or not node.propagate:
            return None
        node = node.parent
    root = logging.getLogger()
    if handler is None or root.handlers != [handler] or root.filters or handler.filters:
        return None
    return handler


def write_info(handler: logging.StreamHandler[Any], name: str, message: str,
               values: dict[str, Any], created: float | None = None) -> None:
    """An INFO line of logger ``name`` straight to ``handler``'s stream, made as its formatter
    makes it (``TEXT`` or ``JsonFormatter``; ``values`` are the JSON fields), at ``created``
    (``time.time()``: now)."""
    created = time.time() if created is None else created
    if isinstance(handler.formatter, JsonFormatter):
        line: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(created, datetime.UTC)
            .isoformat(timespec="milliseconds"),
            "level": "INFO", "logger": name, "message": message, **values}
        text = json.dumps(line, default=str)
    else:
        seconds = int(created)
        if seconds != _clock[0]:  # the date and time change once a second
            _clock[:] = [seconds, time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))]
        text = f"{_clock[1]},{int((created - seconds) * 1000):03d} INFO {name}: {message}"
    with handler.lock or contextlib.nullcontext():
        handler.stream.write(text + handler.terminator)
        handler.stream.flush()


_clock: list[Any] = [-1, ""]
"""The last second a text line was made in, and its date and time as the formatter writes it."""


def fields(**values: Any) -> dict[str, Any]:
    """``extra=`` of a structured line: the values as JSON fields (text logs show the
    message, which says the same in words)."""
    return {"fields": values}
