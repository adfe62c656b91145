"""``edgewhisk demo --flow`` (what ``make demo`` runs) end to end: a real subprocess that starts
Redis, a controller with ``--composer-redis`` and the demo's fleet, compiles and deploys
``composer_flows/hierarchical.js`` with Composer's own tools and invokes it once. Checked by
what it prints (a line per step with its invoker, what it consumed and produced; the gate
verdicts; the flow's own result; where the bytes went; everything within 120 columns), by the
timeline PNG it draws, and by what it stops (Redis, the invokers, their containers, the
controller)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from edgewhisk_cli.demo.calls import DemoError
from edgewhisk_cli.demo.composer import check_composer

from .conftest import edgewhisk

pytestmark = pytest.mark.mxnet  # the personal-assistant actions run MXNet (the ai extra)

USERS = ("u1", "u2")
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def flow_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, Path]:
    folder = tmp_path_factory.mktemp("demo-flow")
    png = folder / "timeline.png"
    done = edgewhisk("demo", "--flow", "--png", str(png), "--workdir", str(folder / "work"))
    assert done.returncode == 0, done.stderr[-6000:]
    return done.stdout, done.stderr, png


def _lines(stdout: str) -> list[str]:
    """The lines of the steps table (after its header, up to the blank line that ends it)."""
    return stdout.split("STEP ", 1)[1].split("\n\n", 1)[0].splitlines()[1:]


def _steps(stdout: str) -> list[list[str]]:
    """The rows of the steps table, split into words."""
    return [line.split() for line in _lines(stdout)]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def test_every_step_ran_where_its_policy_says_with_its_artifacts(
    flow_run: tuple[str, str, Path]
) -> None:
    rows = _steps(flow_run[0])
    found = {(row[0], row[1]): row for row in rows}
    assert sorted(found) == sorted([("train_base", "-"), *((a, u) for u in USERS for a in (
        "collect", "refine", "predict"))])
    assert rows[0][:3] == ["train_base", "-", "cloud-node"] and rows[0][-1] == "glucose-base@1"
    for usr in USERS:
        assert found["collect", usr][2] == f"{usr}-phone"
        assert found["collect", usr][-1] == f"{usr}/glucose@1"
        refine = found["refine", usr]
        assert refine[2] == f"{usr}-phone"
        assert refine[-3:] == ["glucose-base@1", f"{usr}/glucose@1", f"{usr}/glucose-model@1"]
        predict = found["predict", usr]
        assert predict[2] == f"{usr}-phone" and predict[-2:] == [f"{usr}/glucose-model@1", "-"]


def test_why_names_the_hard_constraint_that_left_one_node(
    flow_run: tuple[str, str, Path]
) -> None:
    """The WHY column: the placement explanation each record carries (the engine's)."""
    lines = _lines(flow_run[0])
    assert "node cloud (1 of 3)" in next(x for x in lines if x.startswith("train_base"))
    for usr in USERS:
        mine = [x for x in lines if x.split()[1] == usr]
        assert len(mine) == 3 and all(f"node {usr}_device (1 of 3)" in x for x in mine), mine


def test_the_gate_verdicts_and_the_flow_s_own_result_are_printed(
    flow_run: tuple[str, str, Path]
) -> None:
    stdout = flow_run[0]
    for usr in USERS:
        assert re.search(rf"^refine {usr}: bias\.age=[\d.]+\(<0\.8,quiet,reported\)$", stdout,
                         re.M), stdout
        assert re.search(rf"^predict {usr}: confidence=", stdout, re.M)
    assert re.search(r'^base: \{"key": "guest/glucose-base@1", "accuracy": [\d.]+\}$', stdout,
                     re.M)
    for i, usr in enumerate(USERS):
        assert f'users[{i}]: {{"usr": "{usr}", "readings": 3, "refined": {{"model": {{"key": ' \
               f'"guest/{usr}/glucose-model@1"' in stdout


def test_local_bytes_never_left_their_device_and_every_line_fits_120_columns(
    flow_run: tuple[str, str, Path]
) -> None:
    stdout = flow_run[0]
    for usr in USERS:
        for name in (f"{usr}/glucose@1", f"{usr}/glucose-model@1"):
            assert f"{name} (local): bytes written only to {usr}-phone: never left it" in stdout
    assert max(len(line) for line in stdout.splitlines()) <= 120


def test_the_timeline_is_drawn(flow_run: tuple[str, str, Path]) -> None:
    stdout, _, png = flow_run
    assert f"timeline: {png}" in stdout
    assert png.read_bytes()[:8] == PNG and png.stat().st_size > 10_000


def test_redis_the_invokers_their_containers_and_the_controller_are_stopped(
    flow_run: tuple[str, str, Path]
) -> None:
    stderr = flow_run[1]
    redis = re.search(r"redis \(for the flow's map\): pid (\d+)", stderr)
    assert redis is not None and f"stopped redis (SIGTERM) (pid {redis[1]})" in stderr
    controller = re.search(r"controller: pid (\d+)", stderr)
    agents = re.search(r"stopped the invokers \(SIGTERM\) \(pids ([\d, ]+)\) and their "
                       r"containers \((?:pids )?([\d, ]*|none)\)", " ".join(stderr.split()))
    assert controller is not None and agents is not None, stderr
    assert max(len(line) for line in stderr.splitlines()) <= 120
    pids = [int(redis[1]), int(controller[1]), *map(int, re.findall(r"\d+", agents[1])),
            *map(int, re.findall(r"\d+", agents[2]))]
    assert not [pid for pid in pids if _alive(pid)]


def test_a_missing_flow_is_named_before_anything_starts() -> None:
    with pytest.raises(DemoError, match=r"missing: the flow .*composer_flows/nope\.js"):
        check_composer("nope.js")
