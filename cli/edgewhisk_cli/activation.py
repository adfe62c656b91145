"""``edgewhisk activation list|get|result|logs|explain|poll``: activation records, as ``wsk``
shows them, and why one ran where it did.

    edgewhisk activation list [NAME] [--limit N] [--skip N] [--since MS] [--upto MS]
    edgewhisk activation list --pending
    edgewhisk activation cancel ID
    edgewhisk activation get|result|logs|explain (ID | --last) [--strip]
    edgewhisk activation poll [NAME] [--exit SECONDS] [--interval SECONDS]

``--last`` is the newest record (of NAME with ``list``'s filter), as ``wsk``'s ``--last``.
``logs --strip`` leaves out each line's time and stream. ``explain`` words the record's
``placement`` annotation (``explain.py``; ``--json``: the annotation as it is). ``poll``
prints the logs of every activation recorded from now on as it appears, until ``--exit``
seconds have passed (or Ctrl-C); it reads nothing but ``GET .../activations``, so it works
on any controller. ``list --pending`` shows the activations waiting to be placed
(``policy.wait``), each with the constraints no invoker meets yet and when it expires;
``cancel`` ends one (its record says so).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from edgewhisk_client import Client
from edgewhisk_client.display import duration, table, when

from . import options
from .exits import OK, usage
from .explain import PLACEMENT, describe

STATUS = {0: "success", 1: "application error", 2: "developer error", 3: "internal error"}
LIST_LIMIT = 30
POLL_INTERVAL_S = 1.0
POLL_PAGE = 200


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="activation_command", metavar="SUBCOMMAND", required=True)
    listing = sub.add_parser("list", help="list activations, newest first")
    listing.add_argument("name", metavar="NAME", nargs="?", default=None,
                         help="only the activations of this action or trigger")
    listing.add_argument("--limit", type=int, default=LIST_LIMIT, help="at most this many")
    listing.add_argument("--skip", type=int, default=0, help="skip this many first")
    listing.add_argument("--since", type=int, default=None, metavar="MS",
                         help="only those started at or after this time (ms since the epoch)")
    listing.add_argument("--upto", type=int, default=None, metavar="MS",
                         help="only those started at or before this time (ms since the epoch)")
    listing.add_argument("--pending", action="store_true",
                         help="the activations waiting to be placed, and what they wait for")
    cancel = sub.add_parser("cancel", help="cancel a pending activation")
    cancel.add_argument("id", metavar="ID", help="the pending activation's id")
    for verb, text in (("get", "print an activation record as JSON"),
                       ("result", "print an activation's result as JSON"),
                       ("logs", "print an activation's logs"),
                       ("explain", "say why an activation ran where it did")):
        child = sub.add_parser(verb, help=text, description=text)
        child.add_argument("id", metavar="ID", nargs="?", default=None, help="the activation id")
        child.add_argument("-l", "--last", action="store_true",
                           help="the newest activation instead of ID")
        if verb == "logs":
            child.add_argument("-r", "--strip", action="store_true",
                               help="leave out each line's time and stream")
    poll = sub.add_parser("poll", help="print the logs of new activations as they are recorded")
    poll.add_argument("name", metavar="NAME", nargs="?", default=None,
                      help="only the activations of this action or trigger")
    poll.add_argument("-e", "--exit", type=float, default=None, metavar="SECONDS",
                      help="stop after this many seconds (default: run until Ctrl-C)")
    poll.add_argument("--interval", type=float, default=POLL_INTERVAL_S, metavar="SECONDS",
                      help="how often to look for new activations")
    for child in sub.choices.values():
        options.add_connection(child)


def run(args: argparse.Namespace) -> int:
    return options.dispatch(args, _COMMANDS, args.activation_command)


def _list(client: Client, args: argparse.Namespace) -> int:
    if args.pending:
        return _pending(client, args)
    records = client.activations.list(limit=args.limit, skip=args.skip, name=args.name,
                                      since=args.since, upto=args.upto)
    options.show(args, records, table(("ACTIVATION", "NAME", "STATUS", "START", "DURATION",
                                       "INVOKER"), [_row(record) for record in records]))
    return OK


def _row(record: dict[str, Any]) -> tuple[Any, ...]:
    code = record.get("statusCode", record.get("response", {}).get("statusCode"))
    invoker = next((a.get("value") for a in record.get("annotations", [])
                    if a.get("key") == "invoker"), None)
    return (record["activationId"], record.get("name"), STATUS.get(code, code),
            when(record.get("start")), duration(record.get("duration")), invoker)


def _pending(client: Client, args: argparse.Namespace) -> int:
    if args.name is not None:
        raise usage("--pending lists every pending activation of the namespace; leave out NAME")
    waiting = client.activations.pending()
    rows = [(item["activationId"], item["name"], when(item["since"]), when(item["until"]),
             ",".join(item["waiting_for"]) or "-") for item in waiting]
    options.show(args, waiting, table(("ACTIVATION", "NAME", "SINCE", "EXPIRES", "WAITING FOR"),
                                      rows))
    return OK


def _cancel(client: Client, args: argparse.Namespace) -> int:
    record = client.activations.cancel(args.id)
    error = record.get("response", {}).get("result", {}).get("error", "cancelled")
    options.show(args, record, f"{record['activationId']}: {error}")
    return OK


def _chosen(client: Client, args: argparse.Namespace) -> str:
    """ID, or the newest activation's id with ``--last``."""
    if (args.id is None) == (not args.last):
        raise usage("name one activation: give ID or --last (not both)")
    if args.id is not None:
        return str(args.id)
    newest = client.activations.list(limit=1)
    if not newest:
        raise usage("--last: the namespace has no activations yet")
    return str(newest[0]["activationId"])


def _get(client: Client, args: argparse.Namespace) -> int:
    print(json.dumps(client.activations.get(_chosen(client, args)), indent=2))
    return OK


def _result(client: Client, args: argparse.Namespace) -> int:
    response = client.activations.result(_chosen(client, args))
    print(json.dumps(response if args.json else response.get("result", {}), indent=2))
    return OK


def _logs(client: Client, args: argparse.Namespace) -> int:
    lines = client.activations.logs(_chosen(client, args))
    options.show(args, {"logs": lines}, "\n".join(strip(line) if args.strip else line
                                                  for line in lines))
    return OK


def _explain(client: Client, args: argparse.Namespace) -> int:
    record = client.activations.get(_chosen(client, args))
    why = next((a.get("value") for a in record.get("annotations", [])
                if a.get("key") == PLACEMENT), None)
    options.show(args, why, "\n".join(describe(record)))
    return OK


def strip(line: str) -> str:
    """``2026-11-27T10:00:00.000000Z stdout: hello`` -> ``hello`` (other lines unchanged)."""
    stamp, _, rest = line.partition(" ")
    stream, sep, text = rest.partition(": ")
    return text if sep and stamp.endswith("Z") and stream in ("stdout", "stderr") else line


def _poll(client: Client, args: argparse.Namespace) -> int:
    if args.interval <= 0:
        raise usage(f"--interval must be positive, not {args.interval:g}")
    started = time.monotonic()
    since, seen = int(time.time() * 1000), set()
    try:
        while args.exit is None or time.monotonic() - started < args.exit:
            records = client.activations.list(name=args.name, since=since, limit=POLL_PAGE,
                                              docs="true")
            for record in reversed(records):  # oldest first
                if record["activationId"] not in seen:
                    seen.add(record["activationId"])
                    _show(record, args.json)
            time.sleep(args.interval)
    except KeyboardInterrupt:
        pass  # how a poll without --exit ends: not a failure
    return OK


def _show(record: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(record), flush=True)
        return
    code = record.get("response", {}).get("statusCode")
    print(f"Activation: '{record.get('name')}' ({record['activationId']}) "
          f"{STATUS.get(code, code)}", flush=True)
    for line in record.get("logs", []):
        print(f"  {line}", flush=True)


_COMMANDS: dict[str, options.Command] = {
    "list": _list, "get": _get, "result": _result, "logs": _logs, "explain": _explain,
    "poll": _poll, "cancel": _cancel}
