"""``edgewhisk action``: read an action file's annotation and build its OpenWhisk action.

``annotation FILE`` imports FILE in a child process (FILE's folder on ``sys.path``, a timeout,
``main`` never called) and prints ``describe(main)`` as JSON, ready for
``wsk action create ... -a edgewhisk "$(edgewhisk action annotation FILE)"``. A child process
keeps a file that hangs, crashes or pollutes the interpreter from taking the tool down with it.

``build NAME FILE`` prints the action document that ``PUT .../actions/NAME`` takes (blackbox exec
on the python3-ai image, the ``edgewhisk`` annotation, ``invoker-resources`` for hard capabilities,
limits) and the equivalent ``wsk action create`` line. The Python API (``annotation_of``,
``package_action``, ``action_document``, ``python_action``) is what the demo, the benchmarks
and the tests use.

Errors are ``ActionError`` (one line, for humans); the CLI prints them and exits with status 2.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import shlex
import signal
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from edgewhisk import AnnotationError, invoker_resources, validate
from edgewhisk_controller.schema.entity import LIMITS, NAME, NAME_MAX, default_limits

DEFAULT_IMAGE = "localhost/edgewhisk/python3-ai:latest"
DEFAULT_IMPORT_TIMEOUT = 30.0
# OpenWhisk's default limits, their ranges and the name pattern are the controller's, so the
# command refuses exactly what the controller would refuse.
DEFAULT_LIMITS = default_limits()
LIMIT_RANGES = {name: (spec.minimum, spec.maximum) for name, spec in LIMITS.items()}
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed, so the same sources always give the same archive
EXIT_ERROR = 2


class ActionError(Exception):
    """An action file cannot be inspected or built; ``str()`` is one line, ``detail`` the rest."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


# Runs in the child: import FILE as a module, describe its main, answer one JSON object on the
# real stdout. Anything the file prints while importing goes to stderr instead.
_PROBE = r"""
import importlib.util, json, os, sys, traceback
from edgewhisk import AnnotationError, describe
path = os.path.abspath(sys.argv[1])
sys.path.insert(0, os.path.dirname(path))
answer = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
sys.stdout = sys.stderr

def reply(**fields):
    answer.write(json.dumps(fields))
    answer.flush()
    sys.stderr.flush()
    os._exit(0)

try:
    spec = importlib.util.spec_from_file_location("__edgewhisk_action__", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
except BaseException as exc:
    traceback.print_exc()
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == path]
    where = f" (line {lines[-1]})" if lines else ""
    if isinstance(exc, AnnotationError):
        reply(error=f"invalid annotation{where}: {exc}")
    reply(error=f"importing it raised {type(exc).__name__}{where}: {exc}".strip())
main = getattr(module, "main", None)
if main is None:
    reply(error="it defines no main function (the action's entry point)")
if not callable(main):
    reply(error=f"its main is a {type(main).__name__}, not a function")
try:
    reply(annotation=describe(main))
except AnnotationError as exc:
    reply(error=f"invalid annotation: {exc}")
"""


def annotation_of(path: str | os.PathLike[str],
                  import_timeout: float = DEFAULT_IMPORT_TIMEOUT) -> dict[str, Any]:
    """The validated annotation of the action file at ``path`` (imported in a child process)."""
    source = Path(path)
    if not source.is_file():
        raise ActionError(f"{source}: no such file")
    if not import_timeout > 0:
        raise ActionError(f"the import timeout must be positive, not {import_timeout}")
    child = subprocess.Popen(
        [sys.executable, "-c", _PROBE, str(source)], stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )
    try:
        out, err = child.communicate(timeout=import_timeout)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)  # its own session: the child and what it started
        out, err = child.communicate()
        raise ActionError(
            f"{source}: importing it did not finish within {import_timeout:g} s; move slow work "
            "from module level into main (or raise --import-timeout)",
            err.decode(errors="replace"),
        ) from None
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    detail = err.decode(errors="replace")
    try:
        answer = json.loads(out)
    except ValueError:
        raise ActionError(
            f"{source}: importing it ended the interpreter (exit status {child.returncode})",
            detail,
        ) from None
    if "error" in answer:
        raise ActionError(f"{source}: {' '.join(str(answer['error']).split())}", detail)
    try:
        return validate(answer["annotation"])
    except AnnotationError as exc:
        raise ActionError(f"{source}: invalid annotation: {exc}", detail) from exc


def _included_files(include: Iterable[str | os.PathLike[str]]) -> Iterator[tuple[str, Path]]:
    """(name in the archive, file) for every file of the included paths, in a stable order."""
    for item in include:
        root = Path(item)
        if root.is_symlink() or not root.exists():
            raise ActionError(f"--include {root}: not an existing file or folder (links refused)")
        if root.is_file():
            yield root.name, root
            continue
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                file = Path(folder, name)
                if file.is_symlink() or Path(folder).is_symlink():
                    raise ActionError(f"--include {root}: {file} is a link; links are refused")
                if not name.endswith(".pyc"):
                    yield file.relative_to(root.parent).as_posix(), file
            if any(Path(folder, d).is_symlink() for d in dirs):
                raise ActionError(f"--include {root}: it holds a linked folder; links are refused")


def action_zip(path: str | os.PathLike[str], include: Iterable[str | os.PathLike[str]]) -> bytes:
    """A zip with ``path`` as ``__main__.py`` and the included files and folders beside it."""
    buffer = io.BytesIO()
    seen = {"__main__.py"}
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        entries = [("__main__.py", Path(path)), *_included_files(include)]
        for index, (name, file) in enumerate(entries):
            if index and name in seen:
                raise ActionError(f"--include: two files would both be {name!r} in the archive")
            seen.add(name)
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, file.read_bytes())
    return buffer.getvalue()


def package_action(path: str | os.PathLike[str], include: Iterable[str | os.PathLike[str]] = (),
                   image: str = DEFAULT_IMAGE) -> dict[str, Any]:
    """The ``exec`` of the action: its source text, or with includes a base64 zip (binary)."""
    source = Path(path)
    if not source.is_file():
        raise ActionError(f"{source}: no such file")
    include = list(include)
    if include:
        code, binary = base64.b64encode(action_zip(source, include)).decode("ascii"), True
    else:
        code, binary = source.read_text(), False
    return {"kind": "blackbox", "image": image, "code": code, "main": "main", "binary": binary}


def check_name(name: str) -> str:
    """An OpenWhisk entity name, optionally inside a package (``pkg/action``)."""
    parts = name.split("/")
    if len(name) > NAME_MAX or len(parts) > 2 or not all(NAME.fullmatch(p) for p in parts):
        raise ActionError(
            f"{name!r} is not an OpenWhisk action name: letters, digits, '_', '@', '.', '-' "
            "and spaces inside, at most 256 characters, optionally 'package/name'"
        )
    return name


def check_limits(limits: Mapping[str, int] | None) -> dict[str, int]:
    """OpenWhisk's default limits overridden by ``limits``, each within its allowed range."""
    out = dict(DEFAULT_LIMITS)
    for key, value in (limits or {}).items():
        if key not in LIMIT_RANGES:
            raise ActionError(f"unknown limit {key!r}; known: {', '.join(LIMIT_RANGES)}")
        low, high = LIMIT_RANGES[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ActionError(f"limit {key} must be an integer from {low} to {high}, not {value!r}")
        out[key] = value
    return out


def action_document(name: str, path: str | os.PathLike[str],
                    include: Iterable[str | os.PathLike[str]] = (), image: str = DEFAULT_IMAGE,
                    limits: Mapping[str, int] | None = None,
                    import_timeout: float = DEFAULT_IMPORT_TIMEOUT) -> dict[str, Any]:
    """The body of ``PUT /api/v1/namespaces/{ns}/actions/{name}`` for this action file."""
    check_name(name)
    checked_limits = check_limits(limits)
    annotation = annotation_of(path, import_timeout)
    annotations: list[dict[str, Any]] = [{"key": "edgewhisk", "value": annotation}]
    resources = invoker_resources(annotation)
    if resources:
        annotations.append({"key": "invoker-resources", "value": resources})
    annotations.append({"key": "exec", "value": "blackbox"})
    return {"name": name, "exec": package_action(path, include, image),
            "annotations": annotations, "limits": checked_limits}


def python_action(name: str, path: str | os.PathLike[str],
                  include: Iterable[str | os.PathLike[str]] = (),
                  limits: Mapping[str, int] | None = None) -> dict[str, Any]:
    """:func:`action_document` with the ``python:3`` kind instead of ``blackbox`` (what the
    process backend runs: the image's ``blackbox`` kind needs a container engine), the
    ``edgewhisk`` annotation kept. The demo, the benchmarks and the tests deploy this."""
    document = action_document(name, path, include, limits=limits)
    exec_ = document["exec"]
    document["exec"] = {"kind": "python:3", "code": exec_["code"], "binary": exec_["binary"],
                        "main": exec_["main"]}
    document["annotations"] = [a for a in document["annotations"] if a["key"] != "exec"]
    return document


def wsk_command(document: Mapping[str, Any], file: str) -> str:
    """The ``wsk action create`` line that creates the same action from ``file``."""
    argv = ["wsk", "action", "create", document["name"], file,
            "--docker", document["exec"]["image"]]
    for annotation in document["annotations"]:
        if annotation["key"] != "exec":  # OpenWhisk adds exec itself
            argv += ["-a", annotation["key"], json.dumps(annotation["value"])]
    limits = document["limits"]
    argv += ["--timeout", str(limits["timeout"]), "--memory", str(limits["memory"])]
    if limits["logs"] != DEFAULT_LIMITS["logs"]:
        argv += ["--logsize", str(limits["logs"])]
    if limits["concurrency"] != DEFAULT_LIMITS["concurrency"]:
        argv += ["--concurrency", str(limits["concurrency"])]
    return shlex.join(argv)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action_command", metavar="SUBCOMMAND", required=True)
    annotation = sub.add_parser("annotation", help="print the edgewhisk annotation of FILE as JSON")
    annotation.add_argument("file", metavar="FILE", help="the action's Python file")
    build = sub.add_parser("build", help="print the OpenWhisk action document and wsk command")
    build.add_argument("name", metavar="NAME", help="the action's name")
    build.add_argument("file", metavar="FILE", help="the action's Python file (its __main__.py)")
    build.add_argument("--include", metavar="PATH", action="append", default=[],
                       help="a file or folder to zip beside FILE (repeatable)")
    build.add_argument("--image", default=DEFAULT_IMAGE, help=f"runtime image ({DEFAULT_IMAGE})")
    build.add_argument("--timeout", metavar="MS", type=int, help="time limit in ms (60000)")
    build.add_argument("--memory", metavar="MB", type=int, help="memory limit in MB (256)")
    build.add_argument("--zip", metavar="PATH", help="write the zip archive (with --include)")
    build.add_argument("--json", action="store_true", help="print only the action document")
    for child in (annotation, build):
        child.add_argument("--import-timeout", metavar="SECONDS", type=float,
                           default=DEFAULT_IMPORT_TIMEOUT,
                           help="give up importing FILE after this many seconds "
                           f"({DEFAULT_IMPORT_TIMEOUT:g})")
        child.add_argument("-v", "--verbose", action="store_true",
                           help="on failure, also show what importing FILE wrote to stderr")


def _build(args: argparse.Namespace) -> str:
    limits = {key: value for key, value in (("timeout", args.timeout), ("memory", args.memory))
              if value is not None}
    document = action_document(args.name, args.file, args.include, args.image, limits,
                               args.import_timeout)
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
    return f"{text}\n\n# the same action with the wsk CLI:\n{note}{wsk_command(document, file)}"


def run(args: argparse.Namespace) -> int:
    try:
        if args.action_command == "annotation":
            print(json.dumps(annotation_of(args.file, args.import_timeout)))
        else:
            print(_build(args))
    except ActionError as error:
        if args.verbose and error.detail:
            sys.stderr.write(error.detail.rstrip("\n") + "\n")
        print(f"edgewhisk action {args.action_command}: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    return 0
