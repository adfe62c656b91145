"""``edgewhisk artifact ls|get|put|rm|preload``: the artifact registry from the command line.

    edgewhisk artifact put FILE --name NAME --kind data|model [--locality cloud|local|network:N]
        [--format F] [--meta k=v ...] [--metric k=v ...] [--held-by INVOKER] [--json]
    edgewhisk artifact get NAME[@VERSION] [-o FILE] [--json]
    edgewhisk artifact ls [--kind K] [--name N] [--type T] [--trained-on D] [--locality L]
        [--owner U] [--limit N] [--json]   (with each version's status, ok or gated, and its
        gate verdicts)
    edgewhisk artifact rm NAME@VERSION [--json]
    edgewhisk artifact preload NAME[@VERSION] [--label K=V ...] [--owner U] [--role R]
        [--network N ...] [--capability C ...] [--min-battery F] [--charging] [--json]

``--apihost``/``--auth`` default to ``~/.wskprops`` (``edgewhisk_client.wskprops``); every
call goes through :class:`edgewhisk_client.Client`. ``put`` hashes the file
first and the controller checks the bytes against that digest as they arrive; a ``local`` or
``network:`` artifact never leaves this machine: only its metadata is registered (``--held-by``
names the invoker that holds it). ``get -o`` streams to a temporary file next to FILE, checks
the digest and renames it into place, printing a progress line on stderr for big files.
``preload`` pushes a ``cloud`` version (the latest without ``@VERSION``) into the stores of the
invokers the device options pick (every option must hold) and prints each one's answer:
``preloaded``, ``cached`` (it held the version already) or ``refused`` with the reason.
Exit codes: 0 done, 1 the controller refused or could not be reached, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from edgewhisk import detect_format
from edgewhisk_client import Client, ClientError
from edgewhisk_client.wskprops import add_api_arguments, require_api
from edgewhisk_runtime.artifacts.canonical import digest

PROGRESS_FROM = 4 * 1024 * 1024
"""Downloads at least this big print a progress line on stderr."""


class CliError(Exception):
    """A refusal worth one line on stderr (``code`` is the exit code)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="artifact_command", metavar="COMMAND", required=True)
    put = sub.add_parser("put", help="upload a new version (or register a device-held one)")
    put.add_argument("file", type=Path, help="the file to upload")
    put.add_argument("--name", required=True, help="artifact name, e.g. u1/glucose")
    put.add_argument("--kind", required=True, choices=("data", "model"))
    put.add_argument("--locality", default="cloud", help="cloud (default), local or network:NAME")
    put.add_argument("--format", default=None, help="format (default: from the file's suffix)")
    put.add_argument("--meta", action="append", default=[], metavar="K=V",
                     help="metadata (type, trained_on, input, ...); V is JSON or a string")
    put.add_argument("--metric", action="append", default=[], metavar="K=V",
                     help="a numeric metric; dotted keys nest (bias.gender=0.1)")
    put.add_argument("--held-by", default=None, metavar="INVOKER",
                     help="the invoker holding a local/network artifact (its bytes stay there)")
    get = sub.add_parser("get", help="show a version's metadata, or download it with -o")
    get.add_argument("ref", metavar="NAME[@VERSION]")
    get.add_argument("-o", "--output", type=Path, default=None, metavar="FILE")
    ls = sub.add_parser("ls", help="list versions, newest first")
    for flag in ("kind", "name", "type", "trained-on", "locality", "owner"):
        ls.add_argument(f"--{flag}", default=None)
    ls.add_argument("--limit", type=int, default=30)
    rm = sub.add_parser("rm", help="delete one version")
    rm.add_argument("ref", metavar="NAME@VERSION")
    preload = sub.add_parser("preload", help="push a version to the devices a selector picks")
    preload.add_argument("ref", metavar="NAME[@VERSION]")
    preload.add_argument("--label", action="append", default=[], metavar="K=V",
                         help="a label the device must have (repeatable)")
    preload.add_argument("--owner", default=None, help="the user owning the device")
    preload.add_argument("--role", default=None, help="edge or cloud")
    preload.add_argument("--network", action="append", default=[], metavar="N",
                         help="a network the device must be in (repeatable)")
    preload.add_argument("--capability", action="append", default=[], metavar="C",
                         help="a capability the device must have (repeatable)")
    preload.add_argument("--min-battery", type=float, default=None, metavar="F",
                         help="lowest battery level, 0 to 1")
    preload.add_argument("--charging", action="store_true", default=None,
                         help="only devices that are charging")
    for child in (put, get, ls, rm, preload):
        add_api_arguments(child)
        child.add_argument("--namespace", default="_", help="namespace (default: the key's)")
        child.add_argument("--ca-file", default=None, metavar="PEM",
                           help="CA bundle to trust for an HTTPS controller")


def run(args: argparse.Namespace) -> int:
    api_host, auth = require_api(args)
    command = {"put": _put, "get": _get, "ls": _ls, "rm": _rm,
               "preload": _preload}[args.artifact_command]
    try:
        with Client(api_host, auth, namespace=args.namespace, ca_file=args.ca_file) as client:
            return command(client, args)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code
    except ClientError as exc:  # unreachable, refused (HTTP 4xx/5xx), a download not verified
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _pairs(items: list[str], flag: str) -> Iterator[tuple[str, str]]:
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CliError(f"{flag} {item!r}: write KEY=VALUE", 2)
        yield key, value


def _metadata(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in _pairs(items, "--meta"):
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def _metrics(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in _pairs(items, "--metric"):
        try:
            number = float(value)
        except ValueError:
            raise CliError(f"--metric {key}={value}: the value must be a number", 2) from None
        *parents, last = key.split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise CliError(f"--metric {key}: {part} is already a number", 2)
        node[last] = number
    return out


def _put(client: Client, args: argparse.Namespace) -> int:
    path: Path = args.file
    if not path.is_file():
        raise CliError(f"{path}: not a file (upload a folder as an archive)", 2)
    size, sha256 = digest(path)
    params: dict[str, Any] = {
        "kind": args.kind, "locality": args.locality, "sha256": sha256,
        "format": args.format or detect_format(path),
        "metadata": json.dumps(_metadata(args.meta)), "metrics": json.dumps(_metrics(args.metric)),
    }
    if args.locality == "cloud":
        with open(path, "rb") as body:
            doc = client.artifacts.put(args.name, body, **params)
    else:  # the bytes stay here: register the metadata only
        if not args.held_by:
            raise CliError(f"a {args.locality} artifact never leaves its device; give "
                           "--held-by INVOKER to register its metadata", 2)
        doc = client.artifacts.put(args.name, size=size, held_by=args.held_by, **params)
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        print(f"{doc['name']}@{doc['version']}  {doc['kind']}  {doc['format']}  "
              f"{doc['size']} bytes  {doc['locality']}  sha256 {doc['sha256']}")
    return 0


def _get(client: Client, args: argparse.Namespace) -> int:
    if args.output is None:
        print(json.dumps(client.artifacts.get(args.ref), indent=2))
        return 0
    progress = _Progress()
    try:
        done = client.artifacts.download(args.ref, args.output, progress)
    finally:
        progress.end()
    summary = {"name": done.name, "version": done.version, "size": done.size,
               "sha256": done.sha256, "file": str(done.file)}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"{done.name}@{done.version}: {done.size} bytes -> {done.file}")
    return 0


class _Progress:
    """The progress line of a big download, rewritten in place on stderr."""

    def __init__(self) -> None:
        self.shown = False

    def __call__(self, written: int, total: int) -> None:
        if total >= PROGRESS_FROM:
            self.shown = True
            print(f"\r{written / 1e6:8.1f} / {total / 1e6:.1f} MB "
                  f"({100 * written // max(total, 1)}%)", end="", file=sys.stderr, flush=True)

    def end(self) -> None:
        if self.shown:
            print(file=sys.stderr)


def _ls(client: Client, args: argparse.Namespace) -> int:
    query = {k: v for k, v in (("kind", args.kind), ("name", args.name), ("type", args.type),
                               ("trained_on", args.trained_on), ("locality", args.locality),
                               ("owner", args.owner)) if v is not None}
    docs = client.artifacts.list(limit=args.limit, **query)
    if args.json:
        print(json.dumps(docs, indent=2))
        return 0
    rows = [("ARTIFACT", "KIND", "FORMAT", "SIZE", "LOCALITY", "COPIES", "STATUS", "GATES")]
    rows += [(f"{d['name']}@{d['version']}", d["kind"], d["format"], str(d["size"]),
              d["locality"], ",".join(d.get("copies") or []), d.get("status") or "ok",
              verdicts_cell(d.get("gates") or [])) for d in docs]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


def verdicts_cell(gates: list[dict[str, Any]], *, source: bool = False) -> str:
    """Gate verdicts (a version's, or an activation's ``gates`` annotation) in one cell:
    ``accuracy=0.5(<0.9,fired)`` each (with ``source``: where the value came from and the
    window's rows, ``psi=3.2(>0.5,fired,measured,rows=120)``), ``;`` between, ``-`` for none;
    no spaces, so a table's cell stays one word."""
    cells = []
    for verdict in gates:
        value = verdict.get("value")
        shown = "?" if value is None else f"{value:.4g}"
        state = "error" if verdict.get("error") else "fired" if verdict.get("fired") else "quiet"
        extra = [state]
        if source:
            extra += [str(verdict.get("source") or "-")]
            extra += [f"rows={verdict['rows']}"] if verdict.get("rows") is not None else []
        cells.append(f"{verdict.get('metric')}={shown}({verdict.get('predicate')},"
                     f"{','.join(extra)})")
    return ";".join(cells) or "-"


def _rm(client: Client, args: argparse.Namespace) -> int:
    if "@" not in args.ref:
        raise CliError(f"{args.ref}: name the version to delete, NAME@VERSION", 2)
    doc = client.artifacts.delete(args.ref)
    print(json.dumps(doc, indent=2) if args.json else f"deleted {doc['name']}@{doc['version']}")
    return 0


def _preload(client: Client, args: argparse.Namespace) -> int:
    devices: dict[str, Any] = {"labels": dict(_pairs(args.label, "--label"))}
    for key in ("owner", "role", "min_battery", "charging"):
        if getattr(args, key) is not None:
            devices[key] = getattr(args, key)
    if args.network:
        devices["networks"] = args.network
    if args.capability:
        devices["capabilities"] = args.capability
    answer = client.artifacts.preload(args.ref, devices)
    if args.json:
        print(json.dumps(answer, indent=2))
    else:
        print(f"{answer['artifact']}: {len(answer['devices'])} device(s)")
        for device in answer["devices"]:
            reason = f"  {device['reason']}" if device.get("reason") else ""
            print(f"  {device['invoker']}  {device['status']}{reason}")
    refused = any(d["status"] == "refused" for d in answer["devices"])
    return 1 if refused else 0
