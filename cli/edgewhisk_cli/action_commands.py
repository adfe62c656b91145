"""``edgewhisk action ...``: the daily loop of actions, with ``wsk``'s flags, and the build tools.

    edgewhisk action create NAME [FILE] [--kind K | --docker IMAGE] [--main F] [--include P]
        [-p K V] [-P FILE] [-a K V] [-A FILE] [-t MS] [-m MB] [-l MB] [--concurrency N]
    edgewhisk action update NAME [FILE] ...     (the same flags; what is not given is kept)
    edgewhisk action invoke NAME [-p K V] [-P FILE] [-b] [-r]
    edgewhisk action get|delete NAME
    edgewhisk action list [--limit N] [--skip N]
    edgewhisk action annotation FILE            (the edgewhisk annotation as JSON)
    edgewhisk action build NAME FILE ...        (the action document and its wsk line; offline)
    edgewhisk action schema [-o FILE]           (the JSON Schema of the edgewhisk annotation)

Why these and why so: a user without a ``wsk`` binary gets ``wsk``'s loop, flag for flag,
and the kind is chosen for where the action goes (``action.kind_of``): a ``.py`` FILE is
``python:3``, which the embedded default runs, and ``--docker IMAGE`` makes the image a
``blackbox`` action for a container backend. Answers are ``wsk``'s ``ok: ...`` lines, or the
JSON with ``--json``; ``get`` always prints the JSON. A blocking invoke whose activation failed
prints its record (or result) and exits 1.
"""

from __future__ import annotations

import argparse
import base64
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from edgewhisk.annotation_schema import json_schema
from edgewhisk_client import Client
from edgewhisk_client.display import table, when

from . import options
from .action import (
    DEFAULT_IMPORT_TIMEOUT,
    ActionError,
    action_document,
    annotation_of,
    check_limits,
    check_name,
    exec_of,
    kind_of,
    sdk_annotations,
    uses_sdk,
    wsk_command,
)
from .exits import OK, REFUSED

LIST_LIMIT = 30


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action_command", metavar="SUBCOMMAND", required=True)
    for verb, text in (("create", "create an action from FILE (or an image)"),
                       ("update", "update an action; what is not given is kept")):
        child = sub.add_parser(verb, help=text, description=text)
        _deploy_arguments(child, file_required=False)
        options.add_key_values(child, annotations=True)
        options.add_limits(child)
        options.add_connection(child)
    invoke = sub.add_parser("invoke", help="invoke an action (non-blocking unless -b or -r)")
    invoke.add_argument("name", metavar="NAME", help="the action's name")
    options.add_key_values(invoke, annotations=False)
    invoke.add_argument("-b", "--blocking", action="store_true",
                        help="wait for the activation and print its record")
    invoke.add_argument("-r", "--result", action="store_true",
                        help="wait for the activation and print only its result (implies -b)")
    for verb, text in (("get", "print an action as JSON"), ("delete", "delete an action")):
        child = sub.add_parser(verb, help=text, description=text)
        child.add_argument("name", metavar="NAME", help="the action's name")
    listing = sub.add_parser("list", help="list the namespace's actions")
    listing.add_argument("--limit", type=int, default=LIST_LIMIT, help="at most this many")
    listing.add_argument("--skip", type=int, default=0, help="skip this many first")
    for child in (invoke, *(sub.choices[v] for v in ("get", "delete", "list"))):
        options.add_connection(child)
    _build_arguments(sub)


def _deploy_arguments(child: argparse.ArgumentParser, *, file_required: bool) -> None:
    child.add_argument("name", metavar="NAME", help="the action's name (or package/name)")
    child.add_argument("file", metavar="FILE", nargs=None if file_required else "?",
                       help="the action's code: a .py (python:3) or .js (nodejs:default) "
                            "file, or a .zip with --kind")
    child.add_argument("--kind", default=None,
                       help="the runtime kind, e.g. python:3, nodejs:default (default: from "
                            "FILE's suffix)")
    child.add_argument("--docker", metavar="IMAGE", default=None,
                       help="run IMAGE as a blackbox action (needs a controller with "
                            "--backend docker); FILE, if given, is its code")
    child.add_argument("--main", metavar="FUNCTION", default=None,
                       help="the entry point (default: main)")
    child.add_argument("--include", metavar="PATH", action="append", default=[],
                       help="a file or folder to zip beside a .py FILE (repeatable)")
    child.add_argument("--import-timeout", metavar="SECONDS", type=float,
                       default=DEFAULT_IMPORT_TIMEOUT,
                       help="give up importing FILE (to read its annotation) after this long")
    child.add_argument("-v", "--verbose", action="store_true",
                       help="on failure, also show what importing FILE wrote to stderr")


def _build_arguments(sub: Any) -> None:
    annotation = sub.add_parser("annotation", help="print the edgewhisk annotation of FILE as JSON")
    annotation.add_argument("file", metavar="FILE", help="the action's Python file")
    annotation.add_argument("--import-timeout", metavar="SECONDS", type=float,
                            default=DEFAULT_IMPORT_TIMEOUT,
                            help="give up importing FILE after this many seconds")
    annotation.add_argument("-v", "--verbose", action="store_true",
                            help="on failure, also show what importing FILE wrote to stderr")
    schema = sub.add_parser("schema", help="print the JSON Schema of the edgewhisk annotation "
                                           "(docs/annotation.schema.json)")
    schema.add_argument("-o", "--output", metavar="FILE", default=None,
                        help="write it to FILE instead of printing it")
    build = sub.add_parser("build", help="print the OpenWhisk action document and wsk command "
                                         "(nothing is sent)")
    _deploy_arguments(build, file_required=True)
    options.add_limits(build)
    build.add_argument("--zip", metavar="PATH", default=None,
                       help="write the zip archive (with --include)")
    build.add_argument("--json", action="store_true", help="print only the action document")


def run(args: argparse.Namespace) -> int:
    try:
        if args.action_command == "annotation":
            print(json.dumps(annotation_of(args.file, args.import_timeout)))
            return OK
        if args.action_command == "build":
            print(_build(args))
            return OK
        if args.action_command == "schema":
            return _schema(args)
        return options.dispatch(args, _REMOTE, args.action_command)
    except ActionError as error:
        if getattr(args, "verbose", False) and error.detail:
            sys.stderr.write(error.detail.rstrip("\n") + "\n")
        raise


def _build(args: argparse.Namespace) -> str:
    document = action_document(args.name, args.file, args.include, kind=args.kind,
                               docker=args.docker, main=args.main, limits=options.limits(args),
                               import_timeout=args.import_timeout)
    text = json.dumps(document, indent=2)
    if args.zip:
        if not args.include:
            raise ActionError("--zip needs --include: without includes the action is FILE itself")
        Path(args.zip).write_bytes(base64.b64decode(document["exec"]["code"]))
    if args.json:
        return text
    file = args.zip or (f"{args.name.replace('/', '_')}.zip" if args.include else args.file)
    note = ("" if args.zip or not args.include
            else f"# (add --zip {shlex.quote(file)} to write the archive this line uses)\n")
    if document["exec"]["kind"] == "python:3" and document["annotations"]:
        note += ("# (a stock OpenWhisk's python:3 has no edgewhisk SDK: there, run it on the "
                 "python3-ai image with --docker instead of --kind)\n")
    return f"{text}\n\n# the same action with the wsk CLI:\n{note}{wsk_command(document, file)}"


def _schema(args: argparse.Namespace) -> int:
    text = json.dumps(json_schema(), indent=2) + "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        try:
            Path(args.output).write_text(text)
        except OSError as exc:
            raise ActionError(f"{args.output}: {exc.strerror or exc}") from None
    return OK


def deploy_body(args: argparse.Namespace, *, update: bool) -> dict[str, Any]:
    """The PUT body of ``create`` (everything, defaults filled in) or ``update`` (only what
    the flags give: the controller keeps the rest)."""
    check_name(args.name)
    body: dict[str, Any] = {}
    if args.file is not None or args.docker is not None or not update:
        kind = kind_of(args.file, args.kind, args.docker)
        body["exec"] = exec_of(args.file, args.include, kind=kind, image=args.docker,
                               main=args.main)
    elif args.kind or args.main or args.include:
        raise ActionError("--kind, --main and --include change the code: give FILE too")
    params = options.key_values(args.params, args.param_file, "-P")
    annotations = options.key_values(args.annotations, args.annotation_file, "-A")
    if args.file is not None and Path(args.file).suffix == ".py" and uses_sdk(args.file):
        sdk = {a["key"]: a["value"] for a in sdk_annotations(args.file, args.import_timeout)}
        annotations = {**sdk, **annotations}
    if params or not update:
        body["parameters"] = options.as_list(params)
    if annotations or not update:
        body["annotations"] = options.as_list(annotations)
    limits = check_limits(options.limits(args), defaults=not update)
    if limits:
        body["limits"] = limits
    return body


def _create(client: Client, args: argparse.Namespace) -> int:
    return _deploy(client, args, update=False)


def _update(client: Client, args: argparse.Namespace) -> int:
    return _deploy(client, args, update=True)


def _deploy(client: Client, args: argparse.Namespace, *, update: bool) -> int:
    stored = client.actions.put(args.name, deploy_body(args, update=update), overwrite=update)
    options.show(args, stored, f"ok: {'updated' if update else 'created'} action {args.name}")
    return OK


def _invoke(client: Client, args: argparse.Namespace) -> int:
    params = options.key_values(args.params, args.param_file, "-P")
    if not (args.blocking or args.result):
        activation_id = client.actions.start(args.name, params)
        options.show(args, {"activationId": activation_id},
                     f"ok: invoked /{args.namespace}/{args.name} with id {activation_id}")
        return OK
    done = client.actions.invoke(args.name, params)
    if not (args.json or args.result):
        print(f"ok: invoked /{args.namespace}/{args.name} with id {done.id}")
    print(json.dumps(done.result if args.result else done.record, indent=2))
    return OK if done.success else REFUSED


def _get(client: Client, args: argparse.Namespace) -> int:
    print(json.dumps(client.actions.get(args.name), indent=2))
    return OK


def _delete(client: Client, args: argparse.Namespace) -> int:
    options.show(args, client.actions.delete(args.name), f"ok: deleted action {args.name}")
    return OK


def _list(client: Client, args: argparse.Namespace) -> int:
    actions = client.actions.list(limit=args.limit, skip=args.skip)
    rows = [(f"/{a.get('namespace', args.namespace)}/{a['name']}", a.get("version"),
             a.get("exec", {}).get("kind"), "shared" if a.get("publish") else "private",
             when(a.get("updated"))) for a in actions]
    options.show(args, actions, table(("ACTION", "VERSION", "KIND", "ACCESS", "UPDATED"), rows))
    return OK


_REMOTE: dict[str, options.Command] = {
    "create": _create, "update": _update, "invoke": _invoke, "get": _get, "delete": _delete,
    "list": _list}
