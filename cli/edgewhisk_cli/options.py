"""The flags the commands that talk to a controller share, read the way ``wsk`` reads them.

- ``--apihost``/``--auth`` default to ``APIHOST``/``AUTH`` of ``~/.wskprops``
  (``edgewhisk_client.wskprops``, ``wsk``'s own rules); ``--namespace``, ``--ca-file``, ``--json``.
- ``-p KEY VALUE`` / ``-P FILE`` (parameters) and ``-a KEY VALUE`` / ``-A FILE`` (annotations):
  VALUE is JSON when it parses as JSON, else the string itself, as ``wsk`` does; FILE is a JSON
  object. Flags apply in order after the file's keys, a later key winning.
- ``--timeout/-t`` ms, ``--memory/-m`` MB, ``--logsize/-l`` MB, ``--concurrency``: the limits,
  checked against the controller's own ranges before anything is sent.

Every mistake is a usage error (exit status 2) naming the flag; nothing is sent.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from edgewhisk_client import Client
from edgewhisk_client.wskprops import add_api_arguments, require_api

from .exits import usage

Command = Callable[[Client, argparse.Namespace], int]
"""A subcommand that talks to the controller: (client, parsed arguments) -> exit status."""
LIMIT_FLAGS = (("timeout", ("-t", "--timeout"), "MS", "the time limit in milliseconds"),
               ("memory", ("-m", "--memory"), "MB", "the memory limit in MB"),
               ("logs", ("-l", "--logsize"), "MB", "the log size limit in MB"),
               ("concurrency", ("--concurrency",), "N", "activations one container runs at once"))


def dispatch(args: argparse.Namespace, commands: Mapping[str, Command], which: str) -> int:
    """Connect (:func:`connect`) and run ``commands[which]`` with the client."""
    with connect(args) as client:
        return int(commands[which](client, args))


def show(args: argparse.Namespace, value: Any, human: str) -> None:
    """``value`` as JSON with ``--json``, else ``human``: every command's two faces."""
    print(json.dumps(value, indent=2) if args.json else human)


def add_connection(parser: argparse.ArgumentParser) -> None:
    """``--apihost``, ``--auth``, ``--json`` (from ``wskprops``), ``--namespace``, ``--ca-file``."""
    add_api_arguments(parser)
    parser.add_argument("--namespace", default="_",
                        help="namespace ('_': the key's own, as wsk)")
    parser.add_argument("--ca-file", default=None, metavar="PEM",
                        help="CA bundle to trust for an HTTPS controller (default: the system's)")


def connect(args: argparse.Namespace) -> Client:
    """A client for the parsed connection flags (``NotConfigured`` naming what is missing)."""
    api_host, auth = require_api(args)
    return Client(api_host, auth, namespace=args.namespace, ca_file=args.ca_file)


def add_key_values(parser: argparse.ArgumentParser, *, annotations: bool) -> None:
    """``-p/--param``, ``-P/--param-file`` and, for entities, ``-a``/``-A``."""
    parser.add_argument("-p", "--param", nargs=2, action="append", default=[],
                        metavar=("KEY", "VALUE"), dest="params",
                        help="a parameter; VALUE is JSON or a string (repeatable)")
    parser.add_argument("-P", "--param-file", metavar="FILE", default=None,
                        help="a JSON object of parameters")
    if annotations:
        parser.add_argument("-a", "--annotation", nargs=2, action="append", default=[],
                            metavar=("KEY", "VALUE"), dest="annotations",
                            help="an annotation; VALUE is JSON or a string (repeatable)")
        parser.add_argument("-A", "--annotation-file", metavar="FILE", default=None,
                            help="a JSON object of annotations")


def add_limits(parser: argparse.ArgumentParser) -> None:
    for key, flags, metavar, text in LIMIT_FLAGS:
        parser.add_argument(*flags, dest=f"limit_{key}", type=int, default=None, metavar=metavar,
                            help=f"{text} (default: the controller's, or unchanged on update)")


def limits(args: argparse.Namespace) -> dict[str, int]:
    """The limit flags given (unset ones are left out)."""
    return {key: getattr(args, f"limit_{key}") for key, *_ in LIMIT_FLAGS
            if getattr(args, f"limit_{key}") is not None}


def json_value(text: str) -> Any:
    """``wsk``'s reading of a value: JSON if it parses, else the string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def key_values(pairs: list[list[str]], file: str | None, flag: str) -> dict[str, Any]:
    """The object of ``file`` (a JSON object) updated by the ``KEY VALUE`` pairs, in order."""
    out: dict[str, Any] = {}
    if file is not None:
        try:
            loaded = json.loads(Path(file).read_text())
        except OSError as exc:
            raise usage(f"{flag} {file}: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise usage(f"{flag} {file}: not JSON ({exc})") from None
        if not isinstance(loaded, dict):
            raise usage(f"{flag} {file}: must hold a JSON object of KEY: VALUE")
        out.update(loaded)
    for key, value in pairs:
        out[key] = json_value(value)
    return out


def as_list(values: dict[str, Any]) -> list[dict[str, Any]]:
    """``{k: v}`` as OpenWhisk's ``[{"key": k, "value": v}]``."""
    return [{"key": key, "value": value} for key, value in values.items()]
