"""The demo's steps against a running controller; each appends rows or raises DemoError.

Why the artifacts are seeded and selected on disk rather than through the API: the controller
has no artifact API yet (the artifact registry is a later issue). Its local invokers run the
runtime with the filesystem store at ``DATA/artifacts`` (``ControllerConfig.artifacts``), so
the demo writes the users' readings there as the devices would have, and stands in for the
registry's selector matching in one explicit, labelled step.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

from edgewhisk import predicate_holds, save_artifact
from edgewhisk_runtime.artifacts import ArtifactRef, FilesystemSink

from .action import action_document
from .demo_controller import Activation, ControllerClient, DemoError
from .demo_report import ActivationRow, Row, ms, size

ACTIONS = ("train_base", "refine", "predict")
LIMITS = {"timeout": 120_000, "memory": 256}


class Demo:
    """Seed, deploy, train, select, refine and predict; ``rows`` and ``activations`` grow."""

    def __init__(self, examples: Path, artifacts: Path, client: ControllerClient,
                 users: list[str], readings: int) -> None:
        check_examples(examples)
        self.examples = examples
        self.artifacts = artifacts
        self.client = client
        self.users = users
        self.readings = readings
        self.glucose = _load_module(examples / "glucose.py", "edgewhisk_demo_glucose")
        self.sink = FilesystemSink(artifacts)
        self.rows: list[Row] = []
        self.activations: list[ActivationRow] = []
        self.held_out: dict[str, Any] = {}
        self.annotations: dict[str, dict[str, Any]] = {}
        self.started = time.perf_counter()

    def run(self) -> None:
        self.progress("seed: each user's readings into the invokers' artifact folder")
        self.seed()
        self.progress(f"deploy: PUT {', '.join(ACTIONS)} through the API")
        self.deploy()
        self.progress("invoke: train_base (a cold start: the runtime imports MXNet at /init)")
        base = self.train()
        self.select(base)
        self.progress(f"invoke: refine {', '.join(self.users)} (each on its own device, at once)")
        self.per_user(self.refine)
        self.progress(f"invoke: predict {', '.join(self.users)} (each on its own device, at once)")
        self.per_user(self.predict)

    def per_user(self, step: Callable[[str], None]) -> None:
        """``step(usr)`` for every user at once (each runs on that user's device: the cold
        starts overlap), then the new rows in user order, as if run one after the other."""
        rows, activations = len(self.rows), len(self.activations)
        with ThreadPoolExecutor(len(self.users)) as pool:
            for future in [pool.submit(step, usr) for usr in self.users]:
                future.result()  # the first failure, in user order
        order = {usr: i for i, usr in enumerate(self.users)}
        self.rows[rows:] = sorted(self.rows[rows:], key=lambda r: order.get(r.user, -1))
        self.activations[activations:] = sorted(self.activations[activations:],
                                                key=lambda r: order.get(r.user, -1))

    def progress(self, message: str) -> None:
        """One line on stderr while the demo runs (the tables come at the end, on stdout)."""
        print(f"[{time.perf_counter() - self.started:5.1f}s] {message}", file=sys.stderr,
              flush=True)

    def seed(self) -> None:
        """Each user's readings, as the device collected them, in the artifact store."""
        for usr in self.users:
            data = self.glucose.user_readings(usr, self.readings)
            self.held_out[usr] = self.glucose.split(data)[1]
            with tempfile.TemporaryDirectory() as tmp:
                staged, fmt = save_artifact(data, Path(tmp), name="glucose")
                stored = asyncio.run(self.sink.store(
                    ArtifactRef("data", "readings", f"{usr}/glucose"), staged, fmt))
            critical = self.glucose.class_balance(data["y"])
            self.rows.append(Row("seed", usr, stored.ref, "npz", size(stored.size),
                                 result=f"{len(data['y'])} readings, {critical:.0%} critical"))

    def deploy(self) -> None:
        """PUT each action: python:3 with a zip (``__main__.py`` + ``glucose.py``) and the
        ``edgewhisk`` annotation read from its decorators (in parallel: each imports MXNet)."""
        include = [self.examples / "glucose.py"]
        with ThreadPoolExecutor(len(ACTIONS)) as pool:
            documents = {a: pool.submit(_python_action, a, self.examples / f"{a}.py", include)
                         for a in ACTIONS}
            for action, future in documents.items():
                document = future.result()
                started = time.perf_counter()
                stored = self.client.put_action(action, document)
                self.annotations[action] = next(
                    a["value"] for a in stored["annotations"] if a["key"] == "edgewhisk")
                zipped = len(document["exec"]["code"]) * 3 // 4  # base64 -> bytes
                self.rows.append(Row(
                    "deploy", "-", f"{action}.py + glucose.py", "zip", size(zipped),
                    result=f"PUT actions/{action}: {stored['exec']['kind']} "
                           f"v{stored['version']}, edgewhisk annotation validated",
                    time=f"{time.perf_counter() - started:.2f}s"))

    def invoke(self, action: str, params: dict[str, Any], usr: str = "-") -> Activation:
        step = action if usr == "-" else f"{action} {usr}"
        done = self.client.invoke(action, params, step)
        init = done.annotation("initTime")
        self.activations.append(ActivationRow(
            action, usr, done.id, str(done.annotation("invoker")),
            "cold" if init is not None else "warm", ms(done.annotation("waitTime")), ms(init),
            ms(done.record.get("duration")), f"{done.round_trip_s * 1000:.0f} ms"))
        return done

    def train(self) -> dict[str, Any]:
        done = self.invoke("train_base", {})
        result = done.result
        stored = _reference(result, "glucose-base", "train_base")
        self.rows.append(Row("train_base", "-", stored["ref"], stored["format"],
                             size(stored["size"]), f"{result['accuracy']:.3f}",
                             f"population {result['samples']['train']} train / "
                             f"{result['samples']['held_out']} held out",
                             f"{done.round_trip_s:.1f}s"))
        return result

    def select(self, trained: dict[str, Any]) -> None:
        """STAND-IN for the model registry (a later issue): match refine's selector against
        the trained model's metadata and publish the match under the selector's name."""
        consumes = self.annotations["refine"]["consumes"]
        wanted = next(e for e in consumes if e["kind"] == "model" and "selector" in e)
        selector, metadata = wanted["selector"], trained["model"]
        mismatch = selector_mismatch(selector, metadata)
        if mismatch:
            raise DemoError(f"select: no model matches refine's selector {selector}: "
                            f"glucose-base {mismatch}")
        stored = asyncio.run(self.sink.store(
            ArtifactRef("model", wanted["name"], None, selector),
            self.artifacts / "glucose-base", "mxnet-gluon"))
        checks = ", ".join(f"{m} {metadata['metrics'][m]} {p}"
                           for m, p in selector.get("metrics", {}).items())
        self.rows.append(Row("select", "-", f"{stored.ref} <- glucose-base", stored.format,
                             size(stored.size),
                             result=f"selector matched: {checks} (stand-in for the registry)"))

    def refine(self, usr: str) -> None:
        done = self.invoke("refine", {"usr": usr}, usr)
        result = done.result
        stored = _reference(result, "glucose-model", f"refine {usr}")
        metrics = result["metrics"]
        self.rows.append(Row(
            "refine", usr, stored["ref"], stored["format"], size(stored["size"]),
            f"{result['accuracy_before']:.3f} -> {result['accuracy_after']:.3f}",
            f"bias(age) {metrics['bias_age_ratio']:.2f} "
            f"{self.gate('refine', 'bias', metrics['bias_age_ratio'])}",
            f"{done.round_trip_s:.1f}s"))

    def predict(self, usr: str, count: int = 3) -> None:
        held_out = self.held_out[usr]
        readings = self.glucose.as_dicts(held_out["X"][-count:])
        done = self.invoke("predict", {"usr": usr, "readings": readings}, usr)
        result = done.result
        probabilities = ",".join(f"{p['probability']:.2f}" for p in result["predictions"])
        actual = int(held_out["y"][-count:].sum())
        self.rows.append(Row(
            "predict", usr, f"(reads {usr}/glucose-model)", "json", "-", "-",
            f"alerts {result['alerts']}/{count} (actual {actual}), p={probabilities}, "
            f"confidence {result['confidence']:.2f} "
            f"{self.gate('predict', 'drift', result['confidence'])}",
            f"{done.round_trip_s:.2f}s"))

    def gate(self, action: str, kind: str, value: float) -> str:
        """How the action's gate of this kind judges the value (evaluating gates and firing
        their triggers is not the controller's job yet; the demo reports the verdict)."""
        gates = [g for g in self.annotations[action]["gates"] if g["type"] == kind]
        if not gates:
            return ""
        predicate = gates[0]["predicate"]
        verdict = "FIRES" if predicate_holds(predicate, value) else "quiet"
        return f"({kind} gate {predicate}: {verdict})"


def check_examples(examples: Path) -> None:
    """The example actions and their helper module are all there (DemoError naming those not)."""
    missing = [a for a in (*ACTIONS, "glucose") if not (examples / f"{a}.py").is_file()]
    if missing:
        raise DemoError(f"{examples}: the example actions are missing ({', '.join(missing)}); "
                        "run the demo from a source checkout or give --examples DIR")


def _python_action(name: str, path: Path, include: list[Path]) -> dict[str, Any]:
    """The action document for the process backend: ``python:3`` with the zip (the image's
    ``blackbox`` kind needs a container engine), the ``edgewhisk`` annotation kept."""
    document = action_document(name, path, include, limits=LIMITS)
    exec_ = document["exec"]
    document["exec"] = {"kind": "python:3", "code": exec_["code"], "binary": exec_["binary"],
                        "main": exec_["main"]}
    document["annotations"] = [a for a in document["annotations"] if a["key"] != "exec"]
    return document


def selector_mismatch(selector: Mapping[str, Any], metadata: Mapping[str, Any]) -> str:
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


def _load_module(path: Path, name: str) -> ModuleType:
    """Import the example's helper module from its file (it is not an installed package)."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise DemoError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module
