"""``edgewhisk demo``: the paper's personal assistant, end to end, through the controller.

What it shows: the embedded default as a user gets it, with an edge fleet, and every artifact
where its locality says. ``edgewhisk controller --port 0 --data WORKDIR/controller --invokers
0`` starts as a child process (SQLite store, the artifact registry, its blob store at
``controller/blobs``, no local invoker); three ``edgewhisk invoker`` agents dial its tunnel on
loopback with device tokens created through the API — a cloud node and one device per user
(``fleet.py``), each with its own node store (``WORKDIR/stores/<id>``); both are started and
stopped by :mod:`edgewhisk_devkit`, and every call goes through :mod:`edgewhisk_client`. The
four example actions (``edgewhisk_examples.personal_assistant``, shipped in the wheel) are
deployed through the REST API and invoked with blocking invokes, as ``wsk`` would; the
placement engine puts each on a node by its policy:

1. deploy   ``PUT actions/<name>``: python:3, a zip (``__main__.py`` + ``glucose.py``), the
            ``edgewhisk`` annotation (validated by the controller)
2. collect  each user's device records its readings: ``{usr}/glucose`` (npz, local: kept in
            the device's store, registered by metadata only)
3. train    ``train_base`` trains the population model on the cloud node: ``glucose-base``
            (cloud: uploaded through the tunnel into the blob store, metadata and metrics in
            the registry)
4. refine   per user, on the user's device: the registry resolves the base by refine's
            selector, the device fetches it through the tunnel into its store, fine-tunes it
            on the readings already there: ``{usr}/glucose-model`` (local)
5. predict  per user, on the user's device: the refined model, from the device's store
6. drift    scene 2 (``drift.py``): the first user's glucose moves; predict's strict input-drift
            gate, measured on the device, fires ``predict.drift``, whose rule retrains that
            user's model (refine); predict is refused meanwhile, then serves the new model

Every gate verdict shown is the platform's: the runtime on the node judged it, the controller
recorded it in the activation's ``gates`` annotation and acted on it.

It prints four tables: each step's outcome (artifact, size, accuracy before/after, answer,
time); each activation as the controller recorded it (activation id, ``invoker`` annotation:
the node it ran on, waitTime, initTime on cold starts, duration, the client's round trip); each
artifact version as the registry lists it (kind, locality, copies, size, sha256, the activation
that created it); and where the bytes went, from the access logs of the blob store and every
node store, with one verdict per artifact (``artifacts.py``). The invokers and then the
controller are stopped by pid at the end, whatever happened (each destroys its containers).
Exit status 0 on success, 1 with the failing step and its logs otherwise, 2 for bad arguments.

``--flow`` tells the same story through Composer instead (``flow.py``): one invoke of the
flow ``composer_flows/hierarchical.js`` on the same fleet, with a Redis for its ``map``; it
prints a line per step (where, why, when, how long, what it consumed and produced), the gate
verdicts, the flow's own result and where the bytes went, and draws the timeline
(``timeline.py``, ``--png``). It needs a checkout set up by ``make demo`` (Node, Composer in
``.services``, redis-server).
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path

from edgewhisk_controller.config import ControllerConfig
from edgewhisk_devkit import Controller, Fleet, Redis, StartError

from ..action import ActionError
from . import drift, field, flow
from .artifacts import BLOB_STORE, artifact_rows, byte_rows, verdicts
from .calls import DemoError, answering
from .fleet import Node, nodes_for
from .observed import metric_rows
from .report import Row, render
from .steps import Demo, check_examples

EXAMPLES = Path(str(files("edgewhisk_examples.personal_assistant")))
FIELD_EXAMPLES = Path(str(files("edgewhisk_examples.field_technician")))
DEFAULT_USERS = ("u1", "u2")
PLACEMENT_NOTE = (
    "placement: every activation crossed a tunnel (the controller has no local invoker). "
    "train_base says policy.fn(node=\"cloud\", strict=True): the cloud node; collect, refine "
    "and predict say policy.fn(node=\"{usr}_device\", strict=True) (and refine "
    "policy.data(network=[\"{usr}_home\"], strict=True)), so each ran on its user's own "
    "device, where its readings and models are.")
GATES_NOTE = (
    "gates: every verdict above is the platform's (each activation's gates annotation): "
    "refine's bias gate reads the bias the function reports with the model; predict's two drift "
    "gates are measured by the runtime on the device, over a window of the model's inputs and "
    "outputs (confidence) against the readings it was refined on (psi, which fires only once "
    "the window holds 100 readings). A firing gate fires a trigger; the strict psi gate also "
    "refuses the user's predicts until a new model version arrives.")
_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@-]*")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scene", nargs="?", choices=("personal-assistant", "field-technician"),
                        default="personal-assistant",
                        help="which example (default: %(default)s); field-technician: two "
                             "tablets, one cut off, syncing on return (demo/field.py)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="folder to use and keep: the controller's state (store, artifacts) "
                             "and its log (default: a temporary folder, removed afterwards)")
    parser.add_argument("--users", default=",".join(DEFAULT_USERS),
                        help="comma-separated user ids (default: %(default)s)")
    parser.add_argument("--readings", type=int, default=400,
                        help="readings collected per user (default: %(default)s)")
    parser.add_argument("--examples", type=Path, default=EXAMPLES,
                        help="folder of the personal-assistant actions (default: the ones "
                             "installed with edgewhisk, edgewhisk_examples.personal_assistant)")
    parser.add_argument("--flow", action="store_true",
                        help="run the personal assistant as the Composer flow composer_flows/"
                             f"{flow.FLOW} (needs a checkout set up by make demo)")
    parser.add_argument("--png", type=Path, default=Path("edgewhisk-demo-flow.png"),
                        help="with --flow: where to draw the flow's timeline "
                             "(default: %(default)s)")


def run(args: argparse.Namespace) -> int:
    if args.scene == "field-technician":
        return field_technician(args.workdir)
    users = [u.strip() for u in args.users.split(",") if u.strip()]
    bad = [u for u in users if not _USER.fullmatch(u)]
    if not users or bad or len(set(users)) != len(users) or args.readings < 20:
        print("edgewhisk demo: give distinct user ids of letters, digits, '_', '-', '.', '@' "
              "(e.g. --users u1,u2) and --readings >= 20", file=sys.stderr)
        return 2
    with _workdir(args.workdir) as workdir:
        data = workdir / "controller"
        print(f"edgewhisk demo: the personal assistant through the embedded controller and "
              f"{len(users) + 1} edge invokers on its tunnel\n"
              f"{'as the Composer flow composer_flows/' + flow.FLOW + chr(10) if args.flow else ''}"
              f"controller state (the embedded default): {data}\n", flush=True)
        try:
            if args.flow:
                return _flow(args, workdir, users)
            demo = _run(Path(args.examples), data, workdir / "controller.log", users,
                        args.readings)
        except (DemoError, ActionError, StartError) as exc:
            return _failed(exc)
    print(render(demo.rows))
    print()
    print(render(demo.activations))
    print("\nartifacts (GET /api/v1/namespaces/_/artifacts):\n")
    print(render(artifact_rows(demo.registry, demo.activations)))
    print(f"\nwhere the bytes went (access logs of the controller's {BLOB_STORE} and each node "
          "store):\n")
    print(render(demo.moved))
    print()
    print("\n".join(demo.verdicts))
    print("\nwhat the controller's /metrics showed at the end (samples summed per series):\n")
    print(render(demo.observed))
    print(f"\n{PLACEMENT_NOTE}\n\n{GATES_NOTE}")
    return 0


def field_technician(workdir: Path | None) -> int:
    """``edgewhisk demo field-technician`` (``field.py``): its rows, or the failing step."""
    with _workdir(workdir) as folder:
        print(f"edgewhisk demo field-technician: two tablets on the tunnel of the embedded "
              f"controller, one cut off\ncontroller state: {folder / 'controller'}\n",
              flush=True)
        try:
            rows = field.run_scene(FIELD_EXAMPLES, folder / "controller",
                                   folder / "controller.log")
        except (DemoError, ActionError, StartError) as exc:
            return _failed(exc)
    print(render(rows, width=120))
    return 0


def _failed(exc: DemoError | ActionError | StartError) -> int:
    """Say which step failed and why (with the logs worth reading); exit status 1."""
    message, detail = ((exc.message, exc.log) if isinstance(exc, StartError)
                       else (str(exc), exc.detail))
    print(f"edgewhisk demo failed: {message}", file=sys.stderr)
    if detail:
        print(detail.rstrip()[-3000:], file=sys.stderr)
    return 1


def _scenes(demo: Demo, controller: Controller) -> None:
    """Scene 1 (each step invoked in turn) and scene 2 (drift)."""
    demo.run()
    drift.run(demo)


def _flow(args: argparse.Namespace, workdir: Path, users: list[str]) -> int:
    """``--flow``: Redis, then the fleet and the flow; the flow's tables and its timeline."""
    path = flow.check_composer(flow.FLOW)  # before anything starts
    story = flow.Story(path, workdir, users, args.readings)
    redis = Redis(workdir / "redis")
    try:
        redis.start()
        print(f"redis (for the flow's map): pid {redis.pid} at {redis.uri}", file=sys.stderr,
              flush=True)
        story.demo = _run(Path(args.examples), workdir / "controller", workdir / "controller.log",
                          users, args.readings, story.run, ("--composer-redis", redis.uri))
    finally:
        if redis.stop() is not None:
            print(f"stopped redis (SIGTERM) (pid {redis.pid})", file=sys.stderr, flush=True)
    flow.report(story, args.png)
    return 0


def _run(examples: Path, data: Path, log: Path, users: list[str], readings: int,
         story: Callable[[Demo, Controller], None] = _scenes, options: tuple[str, ...] = ()
         ) -> Demo:
    """Start the controller and the fleet, run the ``story``, stop both by pid (also when a
    step fails)."""
    check_examples(examples)  # before anything starts
    started = time.perf_counter()
    stores = log.parent / "stores"  # each node's own store: stores/<invoker id>
    # no local invoker: every activation goes down a tunnel to one of the demo's nodes
    controller = Controller(data, "--invokers", "0", *options, log=log)
    nodes = nodes_for(users)
    try:
        with controller, controller.client() as client:
            demo = Demo(examples, client, controller.log, users, readings)
            demo.started = started
            demo.progress(f"controller: pid {controller.pid} at {controller.api_host}")
            demo.rows.append(Row(
                "controller", "-", "controller/store.sqlite3", "sqlite", "-",
                result=f"pid {controller.pid}, {controller.api_host}, guest key, "
                       "no local invoker (edge-only)",
                time=f"{controller.started_s:.1f}s"))
            fleet = Fleet(client, [n.spec for n in nodes], log.parent, stores=stores)
            fleet_started = time.perf_counter()
            try:
                with answering("tokens for the fleet", controller.log):
                    fleet.start()
                with fleet:
                    _fleet_rows(demo, nodes, fleet, controller.api_host, fleet_started)
                    story(demo, controller)
                    with answering("list artifacts", controller.log):
                        demo.registry = client.artifacts.list(limit=200)  # while it is up
                    demo.observed = metric_rows(client.metrics())  # what /metrics showed
            finally:
                _report_fleet_stop(fleet, started)
    finally:
        _report_stop(controller, started)
    logs = {BLOB_STORE: ControllerConfig(data=data).blobs_log,
            **{n.id: stores / n.id / "access.log" for n in nodes}}
    # read now: without --workdir the folder is gone by the time the tables are printed
    demo.moved, demo.verdicts = byte_rows(logs), verdicts(demo.registry, logs)
    agents, containers = _fleet_pids(fleet)
    demo.rows.append(Row("total", result=f"{len(users)} users; invokers {_pids(agents)} and "
                                         f"their containers {_pids(containers)}, controller pid "
                                         f"{controller.pid} stopped",
                         time=f"{time.perf_counter() - started:.1f}s"))
    return demo


def _fleet_rows(demo: Demo, nodes: list[Node], fleet: Fleet, api_host: str,
                started: float) -> None:
    tunnel = api_host.replace("http://", "ws://", 1)
    for node in nodes:
        pid = fleet.agents[node.id].pid
        demo.progress(f"invoker {node.id}: pid {pid}, registered over {tunnel}")
        demo.rows.append(Row("invoker", node.id, "-", "-", "-",
                             result=f"pid {pid}, tunnel {tunnel}, token via the API; "
                                    f"{node.summary}",
                             time=f"{time.perf_counter() - started:.1f}s"))


def _fleet_pids(fleet: Fleet) -> tuple[list[int], list[int]]:
    """The agents' pids and their containers' (noted when they were stopped)."""
    agents = list(fleet.agents.values())
    return [a.pid for a in agents], [pid for a in agents for pid in a.stopped_children]


def _report_fleet_stop(fleet: Fleet, started: float) -> None:
    agents, containers = _fleet_pids(fleet)
    if agents:
        _say_stopped(started, f"stopped the invokers (SIGTERM) {_pids(agents)} and their "
                              f"containers {_pids(containers)}")


def _report_stop(controller: Controller, started: float) -> None:
    if not controller.api_host:
        return  # it never started; the error says why
    _say_stopped(started, f"stopped the controller (SIGTERM) and its containers "
                          f"{_pids(controller.stopped_children)}")


def _say_stopped(started: float, what: str) -> None:
    """A progress line on stderr, wrapped within 120 columns (a long list of pids)."""
    print(textwrap.fill(f"[{time.perf_counter() - started:5.1f}s] {what}", width=120,
                        subsequent_indent=" " * 9), file=sys.stderr, flush=True)


def _pids(pids: list[int]) -> str:
    return "(pids " + ", ".join(map(str, pids)) + ")" if pids else "(none)"


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
