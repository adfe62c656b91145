"""``edgewhisk demo`` end to end: a real subprocess that starts a real controller and three edge
invokers on its tunnel (a cloud node, a device per user, each with its own store), deploys the
example actions through its API and invokes them; checked by what it prints (a row per step,
node and user, a row per activation naming the node it ran on, a row per artifact version from
the registry, where the bytes went from the access logs), by what it leaves on disk (the
controller's store holds every printed activation) and by what it cleans up (invokers, their
containers, the controller, temp folders). Where every byte went is proven in
``test_artifact_flow.py`` from the same run."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from pathlib import Path

import glucose
import pytest
from edgewhisk_controller.stores import open_store

from .conftest import DemoRun, edgewhisk

pytestmark = pytest.mark.mxnet  # the personal-assistant actions run MXNet (the ai extra)

USERS = ("u1", "u2")
NODES = {"cloud-node": "-", **{f"{u}-phone": u for u in USERS}}
EXAMPLE = Path(glucose.__file__).parent
ARTIFACTS = {"glucose-base@1": ("model", "cloud"),
             **{f"{u}/glucose@1": ("data", "local") for u in USERS},
             **{f"{u}/glucose-model@1": ("model", "local") for u in USERS},
             "u1/glucose@2": ("data", "local"), "u1/glucose-model@2": ("model", "local")}
SCENE_1 = [*(["collect", u] for u in USERS), ["train_base", "-"],
           *(["refine", u] for u in USERS), *(["predict", u] for u in USERS)]
SCENE_2 = [["collect", "u1"], *[["predict", "u1"]] * 3, ["predict.drift", "u1"],
           ["predict", "u1"], ["refine", "u1"], *[["predict", "u1"]] * 3]
"""Scene 2: u1's glucose shifts; three drifted predicts fill the window and fire the strict
psi gate (the trigger's activation follows), the next predict is refused, the rule's refine
retrains u1's model, three predicts are served by it."""


def _tables(stdout: str) -> list[list[list[str]]]:
    """The printed tables (blocks after the header lines), each a list of rows of cells."""
    blocks = [b.splitlines() for b in stdout.split("\n\n")]
    tables = [b for b in blocks if len(b) > 1 and set(b[1]) <= {"-", " "}]
    return [[line.split() for line in table[2:]] for table in tables]


def _stopped_pids(text: str) -> list[int]:
    """The controller's pid and its containers' pids, as the demo reports them (wrapped)."""
    found = re.search(r"controller: pid (\d+) .*stopped the controller \(SIGTERM\) and its "
                      r"containers \((?:pids )?([\d, ]*|none)\)", " ".join(text.split()))
    assert found is not None, text
    return [int(found[1]), *(int(p) for p in re.findall(r"\d+", found[2]))]


def _stopped_invokers(text: str) -> tuple[list[int], list[int]]:
    """The invokers' pids and their containers' pids, as the demo reports them (wrapped)."""
    found = re.search(r"stopped the invokers \(SIGTERM\) \(pids ([\d, ]+)\) and their "
                      r"containers \((?:pids )?([\d, ]*|none)\)", " ".join(text.split()))
    assert found is not None, text
    return ([int(p) for p in re.findall(r"\d+", found[1])],
            [int(p) for p in re.findall(r"\d+", found[2])])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"


@pytest.fixture(scope="module")
def demo(demo_run: DemoRun) -> DemoRun:
    assert demo_run.done.returncode == 0, demo_run.done.stderr[-6000:]
    return demo_run


def test_the_demo_prints_a_row_per_step_user_node_and_artifact(demo: DemoRun) -> None:
    steps, activations, artifacts, moved, _ = _tables(demo.done.stdout)
    for step in ("collect", "refine", "predict"):
        assert sorted(row[1] for row in steps if row[0] == step) == list(USERS)
    assert [row[1] for row in steps if row[0] == "invoker"] == list(NODES)
    for step, count in (("controller", 1), ("deploy", 4), ("train_base", 1), ("total", 1),
                        ("rule", 1), ("shift", 1), ("drift", 3), ("refused", 1),
                        ("retrain", 1), ("served", 3)):
        assert [row[0] for row in steps].count(step) == count
    assert "select" not in [row[0] for row in steps], "no stand-in: the registry resolves"
    assert [row[:2] for row in activations] == [*SCENE_1, *SCENE_2]
    assert {row[0]: tuple(row[1:3]) for row in artifacts} == ARTIFACTS
    assert {row[1] for row in moved} == set(ARTIFACTS)


def test_the_artifacts_table_shows_copies_sizes_digests_creators_and_verdicts(
        demo: DemoRun) -> None:
    _, activations, artifacts, *_ = _tables(demo.done.stdout)
    made: dict[str, set[str]] = {}
    for row in activations:
        made.setdefault(f"{row[0]} {row[1]}".replace(" -", ""), set()).add(row[2][:8])
    for name, _, _, copies, size, unit, sha, *created, status, gates in artifacts:
        usr = name.split("/")[0] if "/" in name else "-"
        expected = ({"cloud", "cloud-node", *(f"{u}-phone" for u in USERS)}
                    if name == "glucose-base@1" else {f"{usr}-phone"})
        assert set(copies.split(",")) == expected
        assert float(size) > 0 and unit == "KiB" and re.fullmatch(r"[0-9a-f]{12}", sha)
        step = {"glucose": "collect", "glucose-model": "refine"}.get(
            name.split("/")[-1].split("@")[0], "train_base")
        who = f"{step} {usr}".replace(" -", "")
        assert " ".join(created[:-1]) == who and created[-1].strip("()") in made[who]
        assert status == "ok", "no gate held a version back"
        if "glucose-model" in name:
            assert gates.startswith("bias.age="), "refine's verdict, kept with the version"
    gates = {row[0]: row[-1] for row in artifacts}
    assert "psi=" in gates["u1/glucose-model@1"] and "fired" in gates["u1/glucose-model@1"], \
        "the drift gate's firing is kept with the version it fired on"
    assert "psi=" not in gates["u2/glucose-model@1"]


def test_the_verdicts_say_no_local_artifact_left_its_device(demo: DemoRun) -> None:
    out = demo.done.stdout
    for usr in USERS:
        for name in (f"{usr}/glucose@1", f"{usr}/glucose-model@1"):
            assert (f"{name} (local): bytes written only to {usr}-phone: never left it"
                    in out)
    stores = ", ".join(["blob-store", "cloud-node", *(f"{u}-phone" for u in USERS)])
    assert f"glucose-base@1 (cloud): bytes written to {stores}" in out
    assert "LEFT ITS DEVICE" not in out


def test_each_activation_ran_on_the_node_its_policy_names(demo: DemoRun) -> None:
    _, activations, *_ = _tables(demo.done.stdout)
    for index, row in enumerate(activations):
        step, usr, activation_id, invoker, start, *times = row
        assert re.fullmatch(r"[0-9a-f]{32}", activation_id)
        if index < len(SCENE_1):
            # train_base: policy.fn(node="cloud", strict); the others policy.fn(node="{usr}_device")
            assert invoker == ("cloud-node" if step == "train_base" else f"{usr}-phone")
            assert start == "cold"  # the first activation of its action on its node
            assert times[2] != "-"  # initTime on a cold start
        elif step == "predict.drift" or index == len(SCENE_1) + 5:
            assert (invoker, start) == ("-", "-"), "the trigger, and the refused predict: no run"
        else:
            assert invoker == "u1-phone"


def _records(demo: DemoRun) -> dict[str, dict]:
    """The controller's activation records, by id, from the store it left behind."""
    async def recorded() -> dict[str, dict]:
        async with open_store(demo.controller) as store:
            return {doc["activationId"]: doc for doc in await store.list("activations")}

    return asyncio.run(recorded())


def test_every_printed_activation_is_recorded_by_the_controller(demo: DemoRun) -> None:
    _, activations, *_ = _tables(demo.done.stdout)
    records = _records(demo)
    assert sorted(records) == sorted(row[2] for row in activations)
    refused = activations[len(SCENE_1) + 5][2]
    for step, _, activation_id, invoker, *_ in activations:
        record = records[activation_id]
        assert record["name"] == step
        assert record["response"]["success"] is (activation_id != refused)
        if invoker != "-":
            assert {"key": "invoker", "value": invoker} in record["annotations"]
    assert records[refused]["response"]["statusCode"] == 3


def _gates_cells(text: str) -> list[str]:
    return re.findall(r"gates: (\S+=\S+)", text)


def test_the_printed_verdicts_are_the_ones_the_controller_recorded(demo: DemoRun) -> None:
    from edgewhisk_cli.artifact import verdicts_cell

    _, activations, *_ = _tables(demo.done.stdout)
    records = _records(demo)
    printed = _gates_cells(demo.done.stdout)
    expected = []
    for step, _, activation_id, *_ in activations:
        record = records[activation_id]
        gates = next((a["value"] for a in record["annotations"] if a["key"] == "gates"), None)
        if step in ("refine", "predict") and gates and record["response"]["success"]:
            expected.append(verdicts_cell(gates, source=True))
    assert printed == expected, "each printed verdict is the record's, in the same order"


def test_scene_2_drift_fires_the_gate_refuses_predict_and_retrains_through_the_rule(
        demo: DemoRun) -> None:
    out = demo.done.stdout
    drifts = re.findall(r"^drift\s+u1\s.*psi=(\S+?)\(>0\.5,(\w+),measured,rows=(\d+)\)(.*)$",
                        out, re.M)
    rows = [int(r) for _, _, r, _ in drifts]
    assert rows[1] - rows[0] == 40 and rows[1] < 100 <= rows[2], \
        "the window grows by each batch (and keeps at least its last 100 readings)"
    assert [state for _, state, _, _ in drifts] == ["quiet", "quiet", "fired"], \
        "it fires once the window is full (100 readings)"
    assert drifts[2][3].split()[:3] == ["->", "fired", "predict.drift"]
    assert float(drifts[2][0]) > 0.5
    refused = re.search(r"^refused\s+u1[\s-]+(The gate .*?)\s+\d\.\d+s$", out, re.M)
    assert refused is not None and refused[1].startswith(
        "The gate drift(psi>0.5) on model of action predict holds for "
        "guest/u1/glucose-model@1 (usr=u1)")
    retrain = re.search(r"^retrain\s+u1\s+u1/glucose-model@2\s.*refine by rule "
                        r"retrain-on-drift \(cause (\w+)\)", out, re.M)
    _, activations, *_ = _tables(out)
    trigger = next(row[2] for row in activations if row[0] == "predict.drift")
    assert retrain is not None and trigger.startswith(retrain[1])
    served = re.findall(r"^served\s+u1\s+\(reads u1/glucose-model@2\).*psi=\S+?\(>0\.5,"
                        r"(\w+),measured,rows=(\d+)\)", out, re.M)
    assert served == [("quiet", "40"), ("quiet", "80"), ("quiet", "120")], \
        "the new model's window is quiet against its own reference"


EXERCISED = {
    "edgewhisk_activations_total", "edgewhisk_activation_duration_seconds_count",
    "edgewhisk_placement_decisions_total", "edgewhisk_placement_latency_seconds_count",
    "edgewhisk_gate_verdicts_total", "edgewhisk_trigger_firings_total", "edgewhisk_invoker_up",
    "edgewhisk_tunnel_rtt_seconds", "edgewhisk_tunnel_connections_total",
    "edgewhisk_tunnel_sessions", "edgewhisk_agent_transfer_received_bytes_total",
    "edgewhisk_agent_value"}
"""What the demo exercises: scene 1's activations on three tunnel invokers (base model pulled
to the devices), scene 2's drift gate firing its trigger; nothing is unschedulable, nothing
is pending at the end, no agent reconnected."""


def test_the_controllers_metrics_show_what_the_demo_exercised(demo: DemoRun) -> None:
    observed = {row[0]: (int(row[1]), float(row[2]))
                for row in _tables(demo.done.stdout)[4]}
    assert set(observed) >= EXERCISED | {"edgewhisk_pending_activations",
                                         "edgewhisk_tunnel_reconnects_total"}
    assert {name for name in EXERCISED if observed[name][1] <= 0} == set()
    assert observed["edgewhisk_tunnel_sessions"] == (1, len(NODES))
    assert observed["edgewhisk_invoker_up"] == (len(NODES), len(NODES))
    assert observed["edgewhisk_pending_activations"][1] == 0
    assert observed["edgewhisk_tunnel_reconnects_total"][1] == 0
    # every printed activation was placed, but the trigger's (predict.drift) and the predict
    # the strict gate refused before placement
    assert observed["edgewhisk_placement_decisions_total"][1] == len(SCENE_1) + len(SCENE_2) - 2


def test_refined_accuracy_beats_the_base_for_each_user(demo: DemoRun) -> None:
    for usr in USERS:
        printed = re.search(rf"^refine\s+{usr}\s.*?(\d\.\d+) -> (\d\.\d+)", demo.done.stdout,
                            re.M)
        assert printed is not None
        assert float(printed[2]) > float(printed[1])


def test_the_demo_stops_the_invokers_their_containers_and_the_controller(demo: DemoRun) -> None:
    done = demo.done
    pids = _stopped_pids(done.stderr)
    assert len(pids) == 1, "the controller, which runs no local invoker"
    invokers, containers = _stopped_invokers(done.stderr)
    assert len(invokers) == len(NODES)
    assert len(containers) == 1 + 3 * len(USERS), "train_base; collect, refine, predict per user"
    assert not [pid for pid in (*pids, *invokers, *containers) if _alive(pid)]
    assert f"controller pid {pids[0]} stopped" in done.stdout


def test_without_a_workdir_the_logs_are_read_before_the_folder_goes() -> None:
    done = edgewhisk("demo", "--users", "u1", "--readings", "100")
    assert done.returncode == 0, done.stderr[-6000:]
    moved = _tables(done.stdout)[3]
    assert {(row[0], row[1]) for row in moved} >= {("u1-phone", "u1/glucose@1"),
                                                   ("u1-phone", "u1/glucose-model@1"),
                                                   ("blob-store", "glucose-base@1")}
    assert "u1/glucose-model@1 (local): bytes written only to u1-phone: never left it" \
        in done.stdout
    state = re.search(r"controller state \(the embedded default\): (\S+)", done.stdout)
    assert state is not None and not Path(state[1]).parent.exists()


def test_a_failing_action_fails_the_demo_naming_the_step_and_cleaning_up(tmp_path) -> None:
    examples = tmp_path / "examples"
    shutil.copytree(EXAMPLE, examples, ignore=shutil.ignore_patterns("__pycache__"))
    refine = examples / "refine.py"
    source = refine.read_text()
    body = "    started = time.perf_counter()\n"
    assert body in source
    refine.write_text(source.replace(body, '    raise RuntimeError("the device is offline")\n', 1))
    done = edgewhisk("demo", "--examples", str(examples), "--users", "u1")
    assert done.returncode == 1
    assert "edgewhisk demo failed: refine u1" in done.stderr
    assert "the device is offline" in done.stderr
    invokers, containers = _stopped_invokers(done.stderr)
    assert not [pid for pid in (*_stopped_pids(done.stderr), *invokers, *containers)
                if _alive(pid)]
    state = re.search(r"controller state \(the embedded default\): (\S+)", done.stdout)
    assert state is not None and not Path(state[1]).parent.exists()


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--users", "../etc"], id="a user id that is not a path segment"),
        pytest.param(["--users", "u1,u1"], id="the same user twice"),
        pytest.param(["--readings", "5"], id="too few readings to split"),
    ],
)
def test_bad_arguments_are_refused_before_anything_starts(args) -> None:
    done = edgewhisk("demo", *args, timeout=60)
    assert done.returncode == 2
    assert "give distinct user ids" in done.stderr and done.stdout == ""


def test_missing_example_actions_are_named(tmp_path) -> None:
    done = edgewhisk("demo", "--examples", str(tmp_path), timeout=60)
    assert done.returncode == 1
    assert ("the example actions are missing (collect, train_base, refine, predict, glucose)"
            in done.stderr)
