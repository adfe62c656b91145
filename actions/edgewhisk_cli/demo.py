"""``edgewhisk demo``: the paper's personal assistant, end to end, through the real runtime.

What it shows: the three example actions (``actions/examples/personal_assistant``) deployed
the way an invoker deploys them — one action proxy process each (``LocalRuntime``), a zip
(``__main__.py`` + ``glucose.py``) sent to ``/init``, activations sent to ``/run`` — on the
embedded default: a filesystem artifact store (``--workdir DIR``, else a temporary folder).

1. seed     each user's device collects readings: ``DIR/<usr>/glucose`` (npz)
2. train    ``train_base`` trains the population model in the cloud: ``DIR/glucose-base``
3. select   refine's model selector is matched against the trained model's metadata (the job of
            the artifact registry in the full platform); the match is published as ``DIR/base``
4. refine   ``refine`` fine-tunes a copy per user on their readings: ``DIR/<usr>/glucose-model``
5. predict  ``predict`` serves each user's model on a few of the user's held-out readings

Every step prints a row: where its artifact went, its size, accuracy before/after, the answer and
the time. Exit status 0 on success, 1 with the failing step and the runtime's stderr otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import re
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from edgewhisk import predicate_holds, save_artifact
from edgewhisk_runtime.artifacts import ArtifactRef, FilesystemSink
from edgewhisk_runtime.local import LocalRuntime

from edgewhisk_cli.action import ActionError, annotation_of, package_action

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "personal_assistant"
ACTIONS = ("train_base", "refine", "predict")
DEFAULT_USERS = ("u1", "u2", "u3")
_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@-]*")
RUN_TIMEOUT_S = 120  # the /run deadline sent with every activation


class DemoError(Exception):
    """A step failed; ``str()`` says which and why, ``detail`` holds the runtime's stderr."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


@dataclass
class Row:
    step: str
    user: str = "-"
    artifact: str = "-"
    format: str = "-"
    size: str = "-"
    accuracy: str = "-"
    result: str = ""
    seconds: str = "-"


COLUMNS = ("step", "user", "artifact", "format", "size", "accuracy", "result", "seconds")
HEADERS = ("step", "user", "artifact", "format", "size", "accuracy", "result", "time")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workdir", type=Path, default=None,
                        help="artifact folder to use and keep (default: a temporary folder, "
                             "removed afterwards)")
    parser.add_argument("--users", default=",".join(DEFAULT_USERS),
                        help="comma-separated user ids (default: %(default)s)")
    parser.add_argument("--readings", type=int, default=400,
                        help="readings collected per user (default: %(default)s)")
    parser.add_argument("--examples", type=Path, default=EXAMPLES,
                        help="folder of the personal-assistant actions (default: the repo's)")


def run(args: argparse.Namespace) -> int:
    users = [u.strip() for u in args.users.split(",") if u.strip()]
    bad = [u for u in users if not _USER.fullmatch(u)]
    if not users or bad or len(set(users)) != len(users) or args.readings < 20:
        print("edgewhisk demo: give distinct user ids of letters, digits, '_', '-', '.', '@' "
              "(e.g. --users u1,u2) and --readings >= 20", file=sys.stderr)
        return 2
    with _workdir(args.workdir) as workdir:
        print(f"edgewhisk demo: the personal assistant through the action runtime\n"
              f"artifact store (filesystem, the embedded default): {workdir}\n", flush=True)
        try:
            rows = Demo(Path(args.examples), workdir, users, args.readings).run()
        except (DemoError, ActionError) as exc:
            print(f"edgewhisk demo failed: {exc}", file=sys.stderr)
            detail = getattr(exc, "detail", "")
            if detail:
                print(detail.rstrip()[-3000:], file=sys.stderr)
            return 1
    print(render(rows))
    return 0


@contextmanager
def _workdir(given: Path | None) -> Iterator[Path]:
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        yield given.resolve()
        return
    folder = Path(tempfile.mkdtemp(prefix="edgewhisk-demo-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class Demo:
    """The five steps; each appends rows and raises DemoError naming the step on failure."""

    def __init__(self, examples: Path, workdir: Path, users: list[str], readings: int) -> None:
        missing = [a for a in (*ACTIONS, "glucose") if not (examples / f"{a}.py").is_file()]
        if missing:
            raise DemoError(f"{examples}: the example actions are missing ({', '.join(missing)}); "
                            "run the demo from a source checkout or give --examples DIR")
        self.examples = examples
        self.workdir = workdir
        self.users = users
        self.readings = readings
        self.glucose = _load_module(examples / "glucose.py", "edgewhisk_demo_glucose")
        self.sink = FilesystemSink(workdir)
        self.rows: list[Row] = []
        self.held_out: dict[str, Any] = {}
        self.annotations: dict[str, dict[str, Any]] = {}
        self.started = time.perf_counter()

    def run(self) -> list[Row]:
        self.started = time.perf_counter()
        with ExitStack() as stack:
            runtimes = {a: stack.enter_context(_Runtime(a, self.workdir)) for a in ACTIONS}
            self.progress("seed: each user's readings into the store")
            self.seed()
            self.progress(f"init: {', '.join(ACTIONS)} (one proxy process each)")
            self.annotations = self.deploy(runtimes)
            self.progress("run: train_base")
            base = self.train(runtimes["train_base"])
            self.select(self.annotations["refine"]["consumes"], base)
            for usr in self.users:
                self.progress(f"run: refine {usr}")
                self.refine(runtimes["refine"], usr)
            for usr in self.users:
                self.progress(f"run: predict {usr}")
                self.predict(runtimes["predict"], usr)
        self.rows.append(Row("total", result=f"{len(self.users)} users",
                             seconds=f"{time.perf_counter() - self.started:.1f}s"))
        return self.rows

    def progress(self, message: str) -> None:
        """One line on stderr while the demo runs (the table comes at the end, on stdout)."""
        print(f"[{time.perf_counter() - self.started:5.1f}s] {message}", file=sys.stderr,
              flush=True)

    def seed(self) -> None:
        """Each user's readings, as the device collected them, stored in the device store."""
        for usr in self.users:
            data = self.glucose.user_readings(usr, self.readings)
            self.held_out[usr] = self.glucose.split(data)[1]
            with tempfile.TemporaryDirectory() as tmp:
                staged, fmt = save_artifact(data, Path(tmp), name="glucose")
                stored = asyncio.run(self.sink.store(
                    ArtifactRef("data", "readings", f"{usr}/glucose"), staged, fmt))
            critical = self.glucose.class_balance(data["y"])
            self.rows.append(Row("seed", usr, stored.ref, "npz", _size(stored.size),
                                 result=f"{len(data['y'])} readings, {critical:.0%} critical"))

    def deploy(self, runtimes: Mapping[str, _Runtime]) -> dict[str, dict[str, Any]]:
        """/init every action (in parallel: each imports MXNet); read the annotations that
        hold refine's selector and the gates (``edgewhisk action annotation``)."""
        include = [self.examples / "glucose.py"]
        with ThreadPoolExecutor(len(runtimes) + 2) as pool:
            inits = {a: pool.submit(rt.deploy, self.examples / f"{a}.py", include)
                     for a, rt in runtimes.items()}
            annotations = {a: pool.submit(annotation_of, self.examples / f"{a}.py")
                           for a in ("refine", "predict")}
            for action, future in inits.items():
                self.rows.append(Row("init", artifact=f"{action}.py + glucose.py",
                                     format="zip", size=_size(future.result()),
                                     result=f"proxy pid {runtimes[action].pid}",
                                     seconds=f"{runtimes[action].init_s:.1f}s"))
            return {a: future.result() for a, future in annotations.items()}

    def train(self, runtime: _Runtime) -> dict[str, Any]:
        result, seconds = runtime.invoke({}, step="train_base")
        stored = _reference(result, "glucose-base", "train_base")
        self.rows.append(Row("train_base", "-", stored["ref"], stored["format"],
                             _size(stored["size"]), f"{result['accuracy']:.3f}",
                             f"population {result['samples']['train']} train / "
                             f"{result['samples']['held_out']} held out", f"{seconds:.1f}s"))
        return result

    def select(self, consumes: list[dict[str, Any]], trained: dict[str, Any]) -> None:
        """Stand in for the artifact registry: match the selector, publish the model as its name."""
        wanted = next(e for e in consumes if e["kind"] == "model" and "selector" in e)
        selector, metadata = wanted["selector"], trained["model"]
        mismatch = _selector_mismatch(selector, metadata)
        if mismatch:
            raise DemoError(f"select: no model matches refine's selector {selector}: "
                            f"glucose-base {mismatch}")
        stored = asyncio.run(self.sink.store(
            ArtifactRef("model", wanted["name"], None, selector),
            self.workdir / "glucose-base", "mxnet-gluon"))
        checks = ", ".join(f"{m} {metadata['metrics'][m]} {p}"
                           for m, p in selector.get("metrics", {}).items())
        self.rows.append(Row("select", "-", f"{stored.ref} <- glucose-base", stored.format,
                             _size(stored.size), result=f"selector matched: {checks}"))

    def refine(self, runtime: _Runtime, usr: str) -> None:
        result, seconds = runtime.invoke({"usr": usr}, step=f"refine {usr}")
        stored = _reference(result, "glucose-model", f"refine {usr}")
        metrics = result["metrics"]
        self.rows.append(Row(
            "refine", usr, stored["ref"], stored["format"], _size(stored["size"]),
            f"{result['accuracy_before']:.3f} -> {result['accuracy_after']:.3f}",
            f"bias(age) {metrics['bias_age_ratio']:.2f} "
            f"{self.gate('refine', 'bias', metrics['bias_age_ratio'])}", f"{seconds:.1f}s"))

    def predict(self, runtime: _Runtime, usr: str, count: int = 3) -> None:
        held_out = self.held_out[usr]
        readings = self.glucose.as_dicts(held_out["X"][-count:])
        result, seconds = runtime.invoke({"usr": usr, "readings": readings},
                                         step=f"predict {usr}")
        probabilities = ",".join(f"{p['probability']:.2f}" for p in result["predictions"])
        actual = int(held_out["y"][-count:].sum())
        self.rows.append(Row(
            "predict", usr, f"(reads {usr}/glucose-model)", "json", "-", "-",
            f"alerts {result['alerts']}/{count} (actual {actual}), p={probabilities}, "
            f"confidence {result['confidence']:.2f} "
            f"{self.gate('predict', 'drift', result['confidence'])}", f"{seconds:.2f}s"))

    def gate(self, action: str, kind: str, value: float) -> str:
        """How the action's gate of this kind judges the value (the runtime only reports the
        metrics so far; evaluating gates and firing their triggers comes with the controller)."""
        gates = [g for g in self.annotations[action]["gates"] if g["type"] == kind]
        if not gates:
            return ""
        predicate = gates[0]["predicate"]
        verdict = "FIRES" if predicate_holds(predicate, value) else "quiet"
        return f"({kind} gate {predicate}: {verdict})"


class _Runtime:
    """One action in its own proxy process (what one container is to an invoker)."""

    def __init__(self, action: str, artifacts: Path) -> None:
        self.action = action
        self.local = LocalRuntime(artifacts=artifacts)
        self.init_s = 0.0

    @property
    def pid(self) -> int | None:
        return self.local.pid

    def __enter__(self) -> _Runtime:
        try:
            self.local.start()
        except RuntimeError as exc:
            raise DemoError(f"{self.action}: the action runtime did not start", str(exc)) from exc
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.local.cleanup()

    def deploy(self, path: Path, include: list[Path]) -> int:
        """/init with the zipped action; returns the zip's size in bytes."""
        exec_ = package_action(path, include=include)
        started = time.perf_counter()
        status, body = self.local.init({"name": self.action, "main": exec_["main"],
                                        "code": exec_["code"], "binary": exec_["binary"]})
        self.init_s = time.perf_counter() - started
        if status != 200:
            raise DemoError(f"init {self.action}: HTTP {status}: {_error(body)}",
                            self.local.stderr())
        return len(exec_["code"]) * 3 // 4  # base64 -> bytes

    def invoke(self, params: dict[str, Any], step: str) -> tuple[dict[str, Any], float]:
        """/run one activation; (result, seconds). Errors become DemoError with the stderr."""
        started = time.perf_counter()
        status, body = self.local.run(
            params, activation_id=uuid.uuid4().hex, namespace="demo", action_name=self.action,
            deadline=str(int((time.time() + RUN_TIMEOUT_S) * 1000)))
        seconds = time.perf_counter() - started
        if status != 200 or not isinstance(body, dict) or "error" in body:
            raise DemoError(f"{step}: HTTP {status}: {_error(body)}", self.local.stderr())
        return body, seconds


def _selector_mismatch(selector: Mapping[str, Any], metadata: Mapping[str, Any]) -> str:
    """Why a model's metadata does not satisfy a selector ('' when it does)."""
    for key in ("type", "trained_on", "input"):
        if key in selector and metadata.get(key) != selector[key]:
            return f"has {key} {metadata.get(key)!r}, not {selector[key]!r}"
    for metric, predicate in selector.get("metrics", {}).items():
        value = metadata.get("metrics", {}).get(metric)
        if value is None or not predicate_holds(predicate, value):
            return f"has {metric} {value} (needs {predicate})"
    return ""


def _reference(result: Mapping[str, Any], name: str, step: str) -> dict[str, Any]:
    """The artifact reference the runtime put in the result in place of the produced value."""
    value = result.get(name)
    if not isinstance(value, dict) or "artifact" not in value:
        raise DemoError(f"{step}: the result has no stored artifact {name!r}: {value!r}")
    return dict(value["artifact"])


def _error(body: Any) -> str:
    return str(body.get("error", body)) if isinstance(body, dict) else str(body)


def _size(size: int) -> str:
    return f"{size / 1024:.1f} KiB" if size >= 1024 else f"{size} B"


def _load_module(path: Path, name: str) -> ModuleType:
    """Import the example's helper module from its file (it is not an installed package)."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise DemoError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def render(rows: list[Row], columns: tuple[str, ...] = COLUMNS) -> str:
    """A plain-text table, one line per row, columns as wide as their widest cell."""
    cells: list[tuple[str, ...]] = [HEADERS, *(tuple(getattr(r, c) for c in columns) for r in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]

    def fmt(line: tuple[str, ...]) -> str:
        return "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(cells[0]), rule, *(fmt(line) for line in cells[1:])])
