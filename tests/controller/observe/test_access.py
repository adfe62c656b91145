"""The access line made without ``logging``'s record and formatter: the same text as the
configured handler's formatter makes, and only while that handler is the logger's only way
out (a capture or any other handler set up: ``logging`` as before)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from edgewhisk_controller.observe import logs
from edgewhisk_controller.observe.logs import ACCESS, FORMATS, configure, direct, write_info

VALUES = {"method": "POST", "path": "/api/v1/namespaces/_/actions/noop", "status": 200,
          "ms": 1.234, "namespace": "alice", "remote": "127.0.0.1"}
MESSAGE = "POST /api/v1/namespaces/_/actions/noop 200 1.2 ms alice"


@pytest.fixture()
def stderr() -> Iterator[io.StringIO]:
    """Where ``configured`` logs go; the root logger's set-up restored afterwards."""
    root = logging.getLogger()
    handlers, level, installed = root.handlers[:], root.level, logs._installed  # noqa: SLF001
    yield io.StringIO()
    root.handlers[:], logs._installed = handlers, installed  # noqa: SLF001
    root.setLevel(level)


def configured(format: str, stream: io.StringIO) -> None:
    """``configure`` as the controller calls it, its handler's stream then ``stream`` (pytest
    puts its own ``sys.stderr`` back for each test's call)."""
    configure("INFO", format)
    assert logs._installed is not None  # noqa: SLF001
    logs._installed.setStream(stream)  # noqa: SLF001


@pytest.mark.parametrize("format", FORMATS)
def test_the_line_is_the_formatters_own(stderr: io.StringIO, format: str) -> None:
    configured(format, stderr)
    handler = direct(ACCESS)
    assert handler is not None
    for _ in range(3):  # a record made by logging, then the same line at its time
        record = ACCESS.makeRecord(ACCESS.name, logging.INFO, "(unknown file)", 0,
                                   "%s %s %d %.1f ms %s", ("POST", VALUES["path"], 200, 1.234,
                                                           "alice"), None,
                                   extra=logs.fields(**VALUES))
        write_info(handler, ACCESS.name, MESSAGE, VALUES, created=record.created)
        assert stderr.getvalue().splitlines()[-1] == handler.format(record)
    assert len(stderr.getvalue().splitlines()) == 3


def test_a_line_through_direct_reaches_the_configured_stream(stderr: io.StringIO) -> None:
    configured("text", stderr)
    handler = direct(ACCESS)
    assert handler is not None
    write_info(handler, ACCESS.name, MESSAGE, VALUES)
    assert stderr.getvalue().endswith(f" INFO edgewhisk.access: {MESSAGE}\n")


def test_any_other_way_out_goes_through_logging(stderr: io.StringIO) -> None:
    configured("json", stderr)
    assert direct(ACCESS) is not None
    capture = logging.Handler()
    ACCESS.addHandler(capture)  # e.g. a test's capture on the access logger
    try:
        assert direct(ACCESS) is None
    finally:
        ACCESS.removeHandler(capture)
    logging.getLogger().addHandler(capture)  # a second handler on the root
    try:
        assert direct(ACCESS) is None
    finally:
        logging.getLogger().removeHandler(capture)
    ACCESS.propagate = False  # the logger cut from the root
    try:
        assert direct(ACCESS) is None
    finally:
        ACCESS.propagate = True
    only = logging.Filter("nothing")
    logging.getLogger().handlers[0].addFilter(only)  # the handler filters
    try:
        assert direct(ACCESS) is None
    finally:
        logging.getLogger().handlers[0].removeFilter(only)
    assert direct(ACCESS) is not None
    logs._installed = None  # noqa: SLF001  (logging configured by someone else)
    assert direct(ACCESS) is None
