"""Actions as files: an action file's annotation, its ``exec`` and its OpenWhisk action document.

:func:`annotation_of` imports FILE in a child process (FILE's folder on ``sys.path``, a
timeout, ``main`` never called) and returns ``describe(main)``. A child process keeps a file
that hangs, crashes or pollutes the interpreter from taking the tool down with it.

:func:`action_document` is the body of ``PUT .../actions/NAME``: the kind chosen for where the
action is deployed (:func:`kind_of`: ``python:3``, run by the edgewhisk runtime on every
backend, the embedded default's ``process`` included; the image as ``blackbox`` with
``--docker IMAGE``, which needs a container backend), the code (text, or a zip with
``--include``), the ``edgewhisk`` annotation of a file that imports the SDK and
``invoker-resources`` for its hard capabilities, the limits. :func:`wsk_command` is the same
action as a ``wsk action create`` line. The commands are in ``action_commands.py``; the demo,
the benchmarks and the tests use this module's functions.

Errors are ``ActionError`` (one line, for humans; a usage error: exit status 2).
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
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

from .exits import USAGE, CliError

DEFAULT_IMAGE = "localhost/edgewhisk/python3-ai:latest"
DEFAULT_IMPORT_TIMEOUT = 30.0
# OpenWhisk's default limits, their ranges and the name pattern are the controller's, so the
# command refuses exactly what the controller would refuse.
DEFAULT_LIMITS = default_limits()
LIMIT_RANGES = {name: (spec.minimum, spec.maximum) for name, spec in LIMITS.items()}
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed, so the same sources always give the same archive
PYTHON, NODEJS, BLACKBOX = "python:3", "nodejs:default", "blackbox"
KIND_OF_SUFFIX = {".py": PYTHON, ".js": NODEJS}
_SDK_IMPORT = re.compile(r"^\s*(?:from|import)\s+edgewhisk\b", re.MULTILINE)


class ActionError(CliError):
    """An action file cannot be inspected or built; ``str()`` is one line, ``detail`` the rest."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message, USAGE)
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


def exec_of(path: str | os.PathLike[str] | None, include: Iterable[str | os.PathLike[str]] = (),
            *, kind: str = PYTHON, image: str | None = None,
            main: str | None = None) -> dict[str, Any]:
    """The ``exec`` of an action: FILE's source text; with ``include`` (or FILE a ``.zip``)
    base64 of a zip (``binary``); for ``blackbox``, the ``image`` too (FILE optional: an image
    may carry its own code, as ``wsk action create NAME --docker IMAGE``)."""
    exec_: dict[str, Any] = {"kind": kind}
    if kind == BLACKBOX:
        exec_["image"] = image or DEFAULT_IMAGE
    if path is None:
        if kind != BLACKBOX:
            raise ActionError(f"a {kind} action needs its code: give FILE")
        return exec_
    source, include = Path(path), list(include)
    if not source.is_file():
        raise ActionError(f"{source}: no such file")
    if source.suffix == ".zip":
        if include:
            raise ActionError(f"{source} is a zip already: --include adds files to a .py FILE")
        exec_.update(code=base64.b64encode(source.read_bytes()).decode("ascii"), binary=True)
    elif include:
        exec_.update(code=base64.b64encode(action_zip(source, include)).decode("ascii"),
                     binary=True)
    else:
        try:
            exec_.update(code=source.read_text(), binary=False)
        except UnicodeDecodeError:
            raise ActionError(f"{source}: not UTF-8 text (an archive must end in .zip)") from None
    exec_["main"] = main or "main"
    return exec_


def package_action(path: str | os.PathLike[str], include: Iterable[str | os.PathLike[str]] = (),
                   image: str = DEFAULT_IMAGE) -> dict[str, Any]:
    """The ``exec`` of the action as a ``blackbox`` on ``image`` (see :func:`exec_of`)."""
    return exec_of(path, include, kind=BLACKBOX, image=image)


def kind_of(path: str | os.PathLike[str] | None, kind: str | None = None,
            docker: str | None = None) -> str:
    """What runs the action: ``blackbox`` with ``--docker IMAGE``, else ``--kind``, else by
    FILE's suffix (``.py``: ``python:3``, run by the edgewhisk runtime; ``.js``:
    ``nodejs:default``), as ``wsk`` chooses."""
    if docker is not None:
        if kind not in (None, BLACKBOX):
            raise ActionError(f"--docker runs the image as a blackbox action; it excludes "
                              f"--kind {kind}")
        return BLACKBOX
    if kind is not None:
        return kind
    suffix = Path(path).suffix if path is not None else ""
    if suffix in KIND_OF_SUFFIX:
        return KIND_OF_SUFFIX[suffix]
    raise ActionError(f"cannot tell the kind of {path or 'an action without FILE'} from its "
                      f"suffix; give --kind (e.g. python:3) or --docker IMAGE")


def uses_sdk(path: str | os.PathLike[str]) -> bool:
    """Whether a Python action file imports the SDK (only then is its annotation read: reading
    imports the file, which needs whatever it imports installed here)."""
    try:
        return bool(_SDK_IMPORT.search(Path(path).read_text()))
    except (OSError, UnicodeDecodeError):
        return False


def sdk_annotations(path: str | os.PathLike[str],
                    import_timeout: float = DEFAULT_IMPORT_TIMEOUT) -> list[dict[str, Any]]:
    """``edgewhisk`` (and ``invoker-resources`` for hard capabilities) of an SDK action file."""
    annotation = annotation_of(path, import_timeout)
    annotations: list[dict[str, Any]] = [{"key": "edgewhisk", "value": annotation}]
    resources = invoker_resources(annotation)
    if resources:
        annotations.append({"key": "invoker-resources", "value": resources})
    return annotations


def check_name(name: str) -> str:
    """An OpenWhisk entity name, optionally inside a package (``pkg/action``)."""
    parts = name.split("/")
    if len(name) > NAME_MAX or len(parts) > 2 or not all(NAME.fullmatch(p) for p in parts):
        raise ActionError(
            f"{name!r} is not an OpenWhisk action name: letters, digits, '_', '@', '.', '-' "
            "and spaces inside, at most 256 characters, optionally 'package/name'"
        )
    return name


def check_limits(limits: Mapping[str, int] | None, *, defaults: bool = True) -> dict[str, int]:
    """``limits``, each within its allowed range, over OpenWhisk's defaults (or alone, for an
    update, which keeps the limits it does not name)."""
    out = dict(DEFAULT_LIMITS) if defaults else {}
    for key, value in (limits or {}).items():
        if key not in LIMIT_RANGES:
            raise ActionError(f"unknown limit {key!r}; known: {', '.join(LIMIT_RANGES)}")
        low, high = LIMIT_RANGES[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ActionError(f"limit {key} must be an integer from {low} to {high}, not {value!r}")
        out[key] = value
    return out


def action_document(name: str, path: str | os.PathLike[str] | None,
                    include: Iterable[str | os.PathLike[str]] = (), *,
                    kind: str | None = None, docker: str | None = None, main: str | None = None,
                    limits: Mapping[str, int] | None = None,
                    import_timeout: float = DEFAULT_IMPORT_TIMEOUT) -> dict[str, Any]:
    """The body of ``PUT /api/v1/namespaces/{ns}/actions/{name}`` for this action file.

    The kind is :func:`kind_of`'s: ``python:3`` for a ``.py`` FILE (what every backend runs,
    the embedded default's ``process`` included), the image as ``blackbox`` with ``docker``.
    A Python file that imports the SDK carries its ``edgewhisk`` annotation."""
    check_name(name)
    checked_limits = check_limits(limits)
    chosen = kind_of(path, kind, docker)
    exec_ = exec_of(path, include, kind=chosen, image=docker, main=main)
    annotations = []
    if path is not None and Path(path).suffix == ".py" and uses_sdk(path):
        annotations = sdk_annotations(path, import_timeout)
    return {"name": name, "exec": exec_, "annotations": annotations, "limits": checked_limits}


def python_action(name: str, path: str | os.PathLike[str],
                  include: Iterable[str | os.PathLike[str]] = (),
                  limits: Mapping[str, int] | None = None) -> dict[str, Any]:
    """:func:`action_document` of a ``python:3`` action, the ``edgewhisk`` annotation kept (the
    demo, the benchmarks and the tests deploy this)."""
    return action_document(name, path, include, kind=PYTHON, limits=limits)


def wsk_command(document: Mapping[str, Any], file: str | None) -> str:
    """The ``wsk action create`` line that creates the same action from ``file``."""
    exec_ = document["exec"]
    argv = ["wsk", "action", "create", document["name"], *([file] if file else [])]
    if exec_["kind"] == BLACKBOX:
        argv += ["--docker", exec_["image"]]
    else:
        argv += ["--kind", exec_["kind"]]
    if exec_.get("main", "main") != "main":
        argv += ["--main", exec_["main"]]
    for annotation in document["annotations"]:
        argv += ["-a", annotation["key"], json.dumps(annotation["value"])]
    limits = document["limits"]
    argv += ["--timeout", str(limits["timeout"]), "--memory", str(limits["memory"])]
    if limits["logs"] != DEFAULT_LIMITS["logs"]:
        argv += ["--logsize", str(limits["logs"])]
    if limits["concurrency"] != DEFAULT_LIMITS["concurrency"]:
        argv += ["--concurrency", str(limits["concurrency"])]
    return shlex.join(argv)
