"""``edgewhisk artifact ls|get|put|rm|preload``: the artifact registry from the command line.

    edgewhisk artifact put FILE|DIR --name NAME --kind data|model [--locality cloud|local|network:N]
        [--format F] [--meta k=v ...] [--metric k=v ...] [--held-by INVOKER] [--json]
    edgewhisk artifact get NAME[@VERSION] [-o FILE] [--json]
    edgewhisk artifact ls [--kind K] [--name N] [--type T] [--trained-on D] [--locality L]
        [--owner U] [--limit N] [--json]   (with each version's status, ok or gated, and its
        gate verdicts)
    edgewhisk artifact rm NAME@VERSION [--json]
    edgewhisk artifact preload NAME[@VERSION] [--label K=V ...] [--owner U] [--role R]
        [--network N ...] [--site S] [--capability C ...] [--min-battery F] [--charging]
        [--unmetered] [--standing] [--json]
    edgewhisk artifact policies NAME [--rm ID] [--json]

``--apihost``/``--auth`` default to ``~/.wskprops`` (``options.py``); every call goes through
:class:`edgewhisk_client.Client`. ``put`` hashes the canonical blob first (a file's bytes; a
folder packed as the deterministic tar of ``edgewhisk_runtime.artifacts.canonical``, the one
form registry, stores and tunnel agree on) and streams it; the controller checks the bytes
against that digest as they arrive. A ``local`` or ``network:`` artifact never leaves this
machine: only its metadata is registered (``--held-by`` names the invoker that holds it).
``get -o`` streams to a temporary file next to FILE, checks the digest and renames it into
place. Uploads and downloads show a progress bar when a person watches (``display.progress``).
``preload`` pushes a ``cloud`` version (the latest without ``@VERSION``) into the stores of the
invokers the device options pick (every option must hold) and prints each one's answer:
``preloaded``, ``cached`` (it held the version already) or ``refused`` with the reason.
With ``--standing`` the same selector becomes a standing preload policy
(``artifacts/standing.py``): the artifact's latest cloud version is kept on every device that
matches, now and whenever one registers or reports a context change that makes it match (within
its store's byte budget). ``policies`` lists an artifact's standing policies (and the
predictor's) with their recent decisions and reasons; ``--rm ID`` deletes one.
Exit codes (``exits.py``): 0 done, 1 refused (a preload included) or unreachable, 2 usage.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from edgewhisk import detect_format
from edgewhisk_client import Client
from edgewhisk_client.artifacts import Upload
from edgewhisk_client.display import progress, size, table
from edgewhisk_runtime.artifacts.canonical import blob_chunks, digest
from edgewhisk_runtime.exceptions import ArtifactError

from . import options
from .exits import OK, REFUSED, usage


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="artifact_command", metavar="COMMAND", required=True)
    put = sub.add_parser("put", help="upload a new version (or register a device-held one)")
    put.add_argument("file", type=Path, metavar="FILE|DIR",
                     help="the file, or the folder (packed as the canonical tar), to upload")
    put.add_argument("--name", required=True, help="artifact name, e.g. u1/glucose")
    put.add_argument("--kind", required=True, choices=("data", "model"), help="data or model")
    put.add_argument("--locality", default="cloud", help="cloud, local or network:NAME")
    put.add_argument("--format", default=None,
                     help="format (default: from the file's suffix or the folder's contents)")
    put.add_argument("--meta", action="append", default=[], metavar="K=V",
                     help="metadata (type, trained_on, input, ...); V is JSON or a string")
    put.add_argument("--metric", action="append", default=[], metavar="K=V",
                     help="a numeric metric; dotted keys nest (bias.gender=0.1)")
    put.add_argument("--held-by", default=None, metavar="INVOKER",
                     help="the invoker holding a local/network artifact (its bytes stay there)")
    get = sub.add_parser("get", help="show a version's metadata, or download it with -o")
    get.add_argument("ref", metavar="NAME[@VERSION]", help="the artifact (default: its latest)")
    get.add_argument("-o", "--output", type=Path, default=None, metavar="FILE",
                     help="download the bytes into FILE (default: print the metadata)")
    ls = sub.add_parser("ls", help="list versions, newest first")
    for flag, text in (("kind", "data or model"), ("name", "the artifact's name"),
                       ("type", "metadata type"), ("trained-on", "metadata trained_on"),
                       ("locality", "cloud, local or network:NAME"),
                       ("owner", "the user owning it")):
        ls.add_argument(f"--{flag}", default=None, help=f"only versions with this {text}")
    ls.add_argument("--limit", type=int, default=30, help="at most this many")
    rm = sub.add_parser("rm", help="delete one version")
    rm.add_argument("ref", metavar="NAME@VERSION", help="the version to delete")
    preload = sub.add_parser("preload", help="push a version to the devices a selector picks")
    preload.add_argument("ref", metavar="NAME[@VERSION]", help="the version (default: latest)")
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
                         help="only devices that are charging (or on mains power)")
    preload.add_argument("--site", default=None, help="the site the device is at")
    preload.add_argument("--unmetered", action="store_true", default=None,
                         help="only devices on an unmetered network")
    preload.add_argument("--standing", action="store_true",
                         help="keep the latest version on matching devices from now on "
                              "(a standing policy, re-evaluated as devices change)")
    policies = sub.add_parser("policies", help="list an artifact's standing preload policies "
                                               "and their decisions")
    policies.add_argument("name", metavar="NAME", help="the artifact")
    policies.add_argument("--rm", default=None, metavar="ID", help="delete this policy")
    for child in (put, get, ls, rm, preload, policies):
        options.add_connection(child)


def run(args: argparse.Namespace) -> int:
    return options.dispatch(args, _COMMANDS, args.artifact_command)


def _pairs(items: list[str], flag: str) -> Iterator[tuple[str, str]]:
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise usage(f"{flag} {item!r}: write KEY=VALUE")
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
            raise usage(f"--metric {key}={value}: the value must be a number") from None
        *parents, last = key.split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise usage(f"--metric {key}: {part} is already a number")
        node[last] = number
    return out


def _put(client: Client, args: argparse.Namespace) -> int:
    path: Path = args.file
    if not (path.is_file() or path.is_dir()):
        raise usage(f"{path}: no such file or folder")
    try:
        blob_size, sha256 = digest(path)
    except (ArtifactError, OSError) as exc:  # a link or a special file inside a folder
        raise usage(str(exc)) from None
    params: dict[str, Any] = {
        "kind": args.kind, "locality": args.locality, "sha256": sha256,
        "format": args.format or detect_format(path),
        "metadata": json.dumps(_metadata(args.meta)), "metrics": json.dumps(_metrics(args.metric)),
    }
    if args.locality == "cloud":
        with progress(f"put {args.name}", blob_size) as moved:
            doc = client.artifacts.put(args.name, Upload(blob_chunks(path), blob_size, moved),
                                       **params)
    else:  # the bytes stay here: register the metadata only
        if not args.held_by:
            raise usage(f"a {args.locality} artifact never leaves its device; give "
                        "--held-by INVOKER to register its metadata")
        doc = client.artifacts.put(args.name, size=blob_size, held_by=args.held_by, **params)
    options.show(args, doc, f"{doc['name']}@{doc['version']}  {doc['kind']}  {doc['format']}  "
                            f"{size(doc['size'])}  {doc['locality']}  sha256 {doc['sha256']}")
    return OK


def _get(client: Client, args: argparse.Namespace) -> int:
    if args.output is None:
        print(json.dumps(client.artifacts.get(args.ref), indent=2))
        return OK
    with progress(f"get {args.ref}") as moved:
        done = client.artifacts.download(args.ref, args.output, moved)
    summary = {"name": done.name, "version": done.version, "size": done.size,
               "sha256": done.sha256, "file": str(done.file)}
    options.show(args, summary, f"{done.name}@{done.version}: {size(done.size)} -> {done.file}")
    return OK


def _ls(client: Client, args: argparse.Namespace) -> int:
    query = {k: v for k, v in (("kind", args.kind), ("name", args.name), ("type", args.type),
                               ("trained_on", args.trained_on), ("locality", args.locality),
                               ("owner", args.owner)) if v is not None}
    docs = client.artifacts.list(limit=args.limit, **query)
    rows = [(f"{d['name']}@{d['version']}", d["kind"], d["format"], size(d["size"]),
             d["locality"], ",".join(d.get("copies") or []), d.get("status") or "ok",
             verdicts_cell(d.get("gates") or [])) for d in docs]
    options.show(args, docs, table(("ARTIFACT", "KIND", "FORMAT", "SIZE", "LOCALITY", "COPIES",
                                    "STATUS", "GATES"), rows))
    return OK


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
        raise usage(f"{args.ref}: name the version to delete, NAME@VERSION")
    doc = client.artifacts.delete(args.ref)
    options.show(args, doc, f"deleted {doc['name']}@{doc['version']}")
    return OK


def _preload(client: Client, args: argparse.Namespace) -> int:
    devices: dict[str, Any] = {"labels": dict(_pairs(args.label, "--label"))}
    for key in ("owner", "role", "site", "min_battery", "charging", "unmetered"):
        if getattr(args, key) is not None:
            devices[key] = getattr(args, key)
    if args.network:
        devices["networks"] = args.network
    if args.capability:
        devices["capabilities"] = args.capability
    if args.standing:
        return _standing(client, args, devices)
    answer = client.artifacts.preload(args.ref, devices)
    head = f"{answer['artifact']}: {len(answer['devices'])} device(s)"
    options.show(args, answer, "\n".join([head, *_decision_lines(answer["devices"])]))
    refused = any(d["status"] == "refused" for d in answer["devices"])
    return REFUSED if refused else OK


def _decision_lines(decisions: list[dict[str, Any]]) -> list[str]:
    """One line per device a preload (one-shot, standing or predicted) decided about."""
    lines = []
    for device in decisions:
        reason = f"  {device['reason']}" if device.get("reason") else ""
        lines.append(f"  {device['invoker']}  {device['status']}{reason}")
    return lines


def _standing(client: Client, args: argparse.Namespace, devices: dict[str, Any]) -> int:
    if "@" in args.ref:
        raise usage(f"{args.ref}: a standing policy follows the latest version; name the "
                    "artifact without @VERSION")
    policy = client.artifacts.add_preload_policy(args.ref, devices)
    head = (f"standing preload policy {policy['id']} for {args.ref}: "
            f"{len(policy['applied'])} device(s) now")
    options.show(args, policy, "\n".join([head, *_decision_lines(policy["applied"])]))
    refused = any(d["status"] == "refused" for d in policy["applied"])
    return REFUSED if refused else OK


def _policies(client: Client, args: argparse.Namespace) -> int:
    if args.rm is not None:
        gone = client.artifacts.delete_preload_policy(args.name, args.rm)
        options.show(args, gone, f"deleted standing preload policy {args.rm} of {args.name}")
        return OK
    found = client.artifacts.preload_policies(args.name)
    lines = []
    for policy in found:
        selector = json.dumps(policy["devices"], sort_keys=True) if "devices" in policy \
            else "(predicted from placement history)"
        lines += [f"{policy['id']}  {selector}", *_decision_lines(policy["decisions"])]
    options.show(args, found, "\n".join(lines) or f"{args.name}: no standing preload policies")
    return OK


_COMMANDS: dict[str, options.Command] = {"put": _put, "get": _get, "ls": _ls, "rm": _rm,
                                         "preload": _preload, "policies": _policies}
