"""``edgewhisk demo`` end to end: a real subprocess that starts a real controller and three edge
invokers on its tunnel (a cloud node, a device per user), deploys the example actions through its
API and invokes them; checked by what it prints (a row per step, node and user, a row per
activation naming the node it ran on), by what it leaves on disk (the controller's store holds
every printed activation; formats, loadable models that predict better for their user than the
base does) and by what it cleans up (invokers, their containers, the controller, temp folders)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import glucose
import mxnet as mx
import numpy as np
import pytest
from edgewhisk_controller.stores import open_store
from edgewhisk_runtime.artifacts.filesystem import digest

USERS = ("u1", "u2")
NODES = {"cloud": "-", **{f"{u}-phone": u for u in USERS}}
EXAMPLE = Path(glucose.__file__).parent


def _edgewhisk(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("edgewhisk")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "edgewhisk_cli.main"]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=timeout)


def _tables(stdout: str) -> list[list[list[str]]]:
    """The printed tables (blocks after the header lines), each a list of rows of cells."""
    blocks = [b.splitlines() for b in stdout.split("\n\n")]
    tables = [b for b in blocks if len(b) > 1 and set(b[1]) <= {"-", " "}]
    return [[line.split() for line in table[2:]] for table in tables]


def _stopped_pids(text: str) -> list[int]:
    """The controller's pid and its containers' pids, as the demo reports them."""
    found = re.search(r"controller: pid (\d+) .*stopped the controller \(SIGTERM\) and its "
                      r"containers \((?:pids )?([\d, ]*|none)\)", text, re.S)
    assert found is not None, text
    return [int(found[1]), *(int(p) for p in re.findall(r"\d+", found[2]))]


def _stopped_invokers(text: str) -> tuple[list[int], list[int]]:
    """The invokers' pids and their containers' pids, as the demo reports them."""
    found = re.search(r"stopped the invokers \(SIGTERM\) \(pids ([\d, ]+)\) and their "
                      r"containers \((?:pids )?([\d, ]*|none)\)", text)
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
def demo(tmp_path_factory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """The demo's output and its artifact folder (the controller's ``DATA/artifacts``)."""
    workdir = tmp_path_factory.mktemp("demo")
    return _edgewhisk("demo", "--workdir", str(workdir)), workdir / "controller" / "artifacts"


def _sidecar(path: Path) -> dict:
    return json.loads(path.with_name(path.name + ".edgewhisk.json").read_text())


def _load_model(folder: Path):
    return mx.gluon.SymbolBlock.imports(
        str(folder / "model-symbol.json"), ["data"], str(folder / "model-0000.params")
    )


def test_the_demo_succeeds_and_prints_a_row_per_step_and_user(demo) -> None:
    done, _ = demo
    assert done.returncode == 0, done.stderr
    steps, activations = _tables(done.stdout)
    for step in ("seed", "refine", "predict"):
        assert sorted(row[1] for row in steps if row[0] == step) == list(USERS)
    assert [row[1] for row in steps if row[0] == "invoker"] == list(NODES)
    for step in ("controller", "deploy", "train_base", "select", "total"):
        assert [row[0] for row in steps].count(step) == (3 if step == "deploy" else 1)
    assert [row[:2] for row in activations] == [
        ["train_base", "-"], *(["refine", u] for u in USERS), *(["predict", u] for u in USERS)]


def test_each_activation_ran_on_the_node_its_policy_names(demo) -> None:
    _, activations = _tables(demo[0].stdout)
    for row in activations:
        step, usr, activation_id, invoker, start, *times = row
        assert re.fullmatch(r"[0-9a-f]{32}", activation_id)
        # train_base has no policy (balanced: the cloud node); refine and predict are strict
        # policy.fn(node="{usr}_device"): the device that user owns
        assert invoker == ("cloud" if step == "train_base" else f"{usr}-phone")
        assert start == "cold"  # the first activation of its action on its node
        assert times[2] != "-"  # initTime on a cold start


def test_every_printed_activation_is_recorded_by_the_controller(demo) -> None:
    _, artifacts = demo
    _, activations = _tables(demo[0].stdout)

    async def recorded() -> dict[str, dict]:
        async with open_store(artifacts.parent) as store:
            return {doc["activationId"]: doc for doc in await store.list("activations")}

    records = asyncio.run(recorded())
    assert sorted(records) == sorted(row[2] for row in activations)
    for step, _, activation_id, invoker, *_ in activations:
        record = records[activation_id]
        assert record["name"] == step and record["response"]["success"] is True
        assert {"key": "invoker", "value": invoker} in record["annotations"]


@pytest.mark.parametrize("usr", USERS, ids=[f"{u}'s readings are an npz file" for u in USERS])
def test_the_seeded_readings_are_npz_in_the_store(demo, usr) -> None:
    _, workdir = demo
    path = workdir / usr / "glucose"
    with np.load(path) as stored:
        assert set(stored.files) == {"X", "y", "age"}
        np.testing.assert_array_equal(stored["X"], glucose.user_readings(usr)["X"])
    assert _sidecar(path)["format"] == "npz"


@pytest.mark.parametrize(
    "ref",
    [
        pytest.param("glucose-base", id="the base model train_base produced"),
        pytest.param("base", id="the model published for refine's selector"),
        *(pytest.param(f"{u}/glucose-model", id=f"{u}'s refined model") for u in USERS),
    ],
)
def test_models_are_mxnet_exports_with_a_matching_sidecar(demo, ref) -> None:
    _, workdir = demo
    folder = workdir / ref
    assert sorted(p.name for p in folder.iterdir()) == ["model-0000.params", "model-symbol.json"]
    size, sha256 = digest(folder)
    assert _sidecar(folder) == {"format": "mxnet-gluon", "size": size, "sha256": sha256}


@pytest.mark.parametrize("usr", USERS, ids=[f"{u}'s model beats the base for {u}" for u in USERS])
def test_each_refined_model_loads_and_predicts_its_user_better_than_the_base(demo, usr) -> None:
    _, workdir = demo
    held_out = glucose.split(glucose.user_readings(usr))[1]
    base = glucose.evaluate(_load_model(workdir / "glucose-base"), held_out)["accuracy"]
    refined = glucose.evaluate(_load_model(workdir / usr / "glucose-model"), held_out)["accuracy"]
    assert refined > base
    printed = re.search(rf"^refine\s+{usr}\s.*?(\d\.\d+) -> (\d\.\d+)", demo[0].stdout, re.M)
    assert printed is not None
    assert (float(printed[1]), float(printed[2])) == (round(base, 3), round(refined, 3))


def test_the_demo_stops_the_invokers_their_containers_and_the_controller(demo) -> None:
    done, _ = demo
    pids = _stopped_pids(done.stderr)
    assert len(pids) == 1, "the controller, which runs no local invoker"
    invokers, containers = _stopped_invokers(done.stderr)
    assert len(invokers) == len(NODES)
    assert len(containers) == 1 + 2 * len(USERS), "train_base on cloud, refine+predict per device"
    assert not [pid for pid in (*pids, *invokers, *containers) if _alive(pid)]
    assert f"controller pid {pids[0]} stopped" in done.stdout


def test_a_failing_action_fails_the_demo_naming_the_step_and_cleaning_up(tmp_path) -> None:
    examples = tmp_path / "examples"
    shutil.copytree(EXAMPLE, examples, ignore=shutil.ignore_patterns("__pycache__"))
    refine = examples / "refine.py"
    source = refine.read_text()
    body = "    started = time.perf_counter()\n"
    assert body in source
    refine.write_text(source.replace(body, '    raise RuntimeError("the device is offline")\n', 1))
    done = _edgewhisk("demo", "--examples", str(examples), "--users", "u1")
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
    done = _edgewhisk("demo", *args, timeout=60)
    assert done.returncode == 2
    assert "give distinct user ids" in done.stderr and done.stdout == ""


def test_missing_example_actions_are_named(tmp_path) -> None:
    done = _edgewhisk("demo", "--examples", str(tmp_path), timeout=60)
    assert done.returncode == 1
    assert "the example actions are missing (train_base, refine, predict, glucose)" in done.stderr
