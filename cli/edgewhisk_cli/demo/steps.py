"""The demo's steps against a running controller; each appends rows or raises DemoError.

Every artifact goes through the registry and the node stores, none through a shared folder:
``collect`` produces each user's readings on the user's device (``{usr}/glucose``, local: only
their metadata is registered), ``train_base`` produces ``glucose-base`` on the cloud node (cloud:
uploaded through the tunnel into the controller's blob store, with its metadata and metrics),
``refine`` consumes the base by selector (the registry resolves it; the device fetches it
through the tunnel) and the user's readings (already in the device's store) and produces
``{usr}/glucose-model`` (local), which ``predict`` serves from the same store.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

from edgewhisk_client import Activation, Client

from ..action import python_action
from ..artifact import verdicts_cell
from .artifacts import BytesRow
from .calls import DemoError, answering, invoke
from .observed import SeriesRow
from .report import ActivationRow, Row, ms, size

ACTIONS = ("collect", "train_base", "refine", "predict")
LIMITS = {"timeout": 120_000, "memory": 256}


class Demo:
    """Deploy, collect, train, refine and predict; ``rows`` and ``activations`` grow."""

    def __init__(self, examples: Path, client: Client, controller_log: Callable[[], str],
                 users: list[str], readings: int) -> None:
        self.examples = examples
        self.client = client
        self.controller_log = controller_log  # the detail of a "did not answer"
        self.users = users
        self.readings = readings
        self.glucose = _load_module(examples / "glucose.py", "edgewhisk_demo_glucose")
        self.rows: list[Row] = []
        self.activations: list[ActivationRow] = []
        self.registry: list[dict[str, Any]] = []  # the artifact versions, once the steps ran
        self.moved: list[BytesRow] = []  # where the bytes went, from the stores' access logs
        self.verdicts: list[str] = []  # and what that says per artifact
        self.observed: list[SeriesRow] = []  # the controller's /metrics at the end
        self.started = time.perf_counter()

    def run(self) -> None:
        self.progress(f"deploy: PUT {', '.join(ACTIONS)} through the API")
        self.deploy()
        self.progress(f"invoke: collect {', '.join(self.users)} (readings born on each device, "
                      "kept in its store; the registry gets their metadata only)")
        self.per_user(self.collect)
        self.progress("invoke: train_base on the cloud node (a cold start: the runtime imports "
                      "MXNet at /init); glucose-base goes up the tunnel into the blob store")
        self.train()
        self.progress(f"invoke: refine {', '.join(self.users)} (the registry resolves the base "
                      "by selector; each device fetches it through the tunnel)")
        self.per_user(self.refine)
        self.progress(f"invoke: predict {', '.join(self.users)} (each device serves its own "
                      "refined model from its store)")
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

    def deploy(self) -> None:
        """PUT each action: python:3 with a zip (``__main__.py`` + ``glucose.py``) and the
        ``edgewhisk`` annotation read from its decorators (in parallel: each imports MXNet)."""
        include = [self.examples / "glucose.py"]
        with ThreadPoolExecutor(len(ACTIONS)) as pool:
            documents = {a: pool.submit(python_action, a, self.examples / f"{a}.py", include,
                                        LIMITS) for a in ACTIONS}
            for action, future in documents.items():
                document = future.result()
                started = time.perf_counter()
                with answering(f"deploy {action}", self.controller_log):
                    stored = self.client.actions.put(action, document)
                zipped = len(document["exec"]["code"]) * 3 // 4  # base64 -> bytes
                self.rows.append(Row(
                    "deploy", "-", f"{action}.py + glucose.py", "zip", size(zipped),
                    result=f"PUT actions/{action}: {stored['exec']['kind']} "
                           f"v{stored['version']}, edgewhisk annotation validated",
                    time=f"{time.perf_counter() - started:.2f}s"))

    def invoke(self, action: str, params: dict[str, Any], usr: str = "-") -> Activation:
        name = action if usr == "-" else f"{action} {usr}"
        done = invoke(self.client, action, params, name, self.controller_log)
        self.recorded(done.record, usr, done.round_trip_s)
        return done

    def recorded(self, record: Mapping[str, Any], usr: str, round_trip_s: float | None) -> None:
        """A row of the activations table, from the controller's record."""
        found = Activation(dict(record), 200, round_trip_s or 0.0)
        init, invoker = found.annotation("initTime"), found.annotation("invoker")
        start = "-" if not invoker else "cold" if init is not None else "warm"
        self.activations.append(ActivationRow(
            str(record["name"]), usr, found.id, str(invoker or "-"), start,
            ms(found.annotation("waitTime")), ms(init),
            ms(record.get("duration")),
            "-" if round_trip_s is None else f"{round_trip_s * 1000:.0f} ms"))

    def collect(self, usr: str) -> None:
        """The user's device records its readings: ``{usr}/glucose``, local to that device."""
        done = self.invoke("collect", {"usr": usr, "readings": self.readings}, usr)
        result = done.result
        stored = _reference(result, "glucose", f"collect {usr}")
        self.rows.append(Row(
            "collect", usr, _versioned(stored), stored["format"], size(stored["size"]),
            result=f"{result['readings']} readings, {result['critical']:.0%} critical, "
                   f"{stored['locality']}: kept on {done.annotation('invoker')}",
            time=f"{done.round_trip_s:.1f}s"))

    def train(self) -> dict[str, Any]:
        done = self.invoke("train_base", {})
        result = done.result
        stored = _reference(result, "glucose-base", "train_base")
        self.rows.append(Row("train_base", "-", _versioned(stored), stored["format"],
                             size(stored["size"]), f"{result['accuracy']:.3f}",
                             f"population {result['samples']['train']} train / "
                             f"{result['samples']['held_out']} held out, "
                             f"{stored['locality']}: uploaded to the blob store",
                             f"{done.round_trip_s:.1f}s"))
        return result

    def refine(self, usr: str) -> None:
        done = self.invoke("refine", {"usr": usr}, usr)
        result = done.result
        stored = _reference(result, "glucose-model", f"refine {usr}")
        self.rows.append(Row(
            "refine", usr, _versioned(stored), stored["format"], size(stored["size"]),
            f"{result['accuracy_before']:.3f} -> {result['accuracy_after']:.3f}",
            f"gates: {verdicts_cell(gates_of(done.record), source=True)}",
            f"{done.round_trip_s:.1f}s"))

    def predict(self, usr: str, count: int = 3) -> None:
        """A few of the user's held-out readings (regenerated from the collect seed, as the
        user's app would send them) scored by the device's refined model."""
        held_out = self.glucose.split(self.glucose.user_readings(usr, self.readings))[1]
        readings = self.glucose.as_dicts(held_out["X"][-count:])
        done = self.invoke("predict", {"usr": usr, "readings": readings}, usr)
        result = done.result
        probabilities = ",".join(f"{p['probability']:.2f}" for p in result["predictions"])
        actual = int(held_out["y"][-count:].sum())
        self.rows.append(Row(
            "predict", usr, f"(reads {served(done)})", "json", "-", "-",
            f"alerts {result['alerts']}/{count} (actual {actual}), p={probabilities}; "
            f"gates: {verdicts_cell(gates_of(done.record), source=True)}",
            f"{done.round_trip_s:.2f}s"))


def check_examples(examples: Path) -> None:
    """The example actions and their helper module are all there (DemoError naming those not)."""
    missing = [a for a in (*ACTIONS, "glucose") if not (examples / f"{a}.py").is_file()]
    if missing:
        raise DemoError(f"{examples}: the example actions are missing ({', '.join(missing)}); "
                        "give --examples DIR, a folder with all of them")


def _reference(result: Mapping[str, Any], name: str, step: str) -> dict[str, Any]:
    """The artifact reference the runtime put in the result in place of the produced value."""
    value = result.get(name)
    if not isinstance(value, dict) or "artifact" not in value:
        raise DemoError(f"{step}: the result has no stored artifact {name!r}: {value!r}")
    return dict(value["artifact"])


def gates_of(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The platform's verdicts on an activation: its record's ``gates`` annotation."""
    found = Activation(dict(record), 200, 0.0).annotation("gates")
    return list(found) if isinstance(found, list) else []


def served(done: Activation) -> str:
    """The model version an activation's gates judged (``u1/glucose-model@1``)."""
    versions = {g.get("version") for g in gates_of(done.record) if g.get("version")}
    return ", ".join(sorted(str(v).partition("/")[2] for v in versions)) or "-"


def _versioned(reference: Mapping[str, Any]) -> str:
    """``name@version`` of an artifact reference (the registry's name for that version)."""
    return f"{reference['name']}@{reference['version']}"


def _load_module(path: Path, name: str) -> ModuleType:
    """Import the example's helper module from its file (it is not an installed package)."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise DemoError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module
