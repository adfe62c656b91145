"""``edgewhisk bench controller --baseline REF``: another git ref's controller, same run.

The bench's own run takes minutes (``make``-free, behind its own command); here: the ref's tree
is what ``git archive`` gives and the environment makes a controller import it instead of the
checkout (checked by importing from that environment), an unknown ref is refused before
anything starts, and the temporary tree is removed. No timing is asserted.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from edgewhisk_devkit import alive

BENCH = Path(__file__).resolve().parents[2] / "bench"
EDGEWHISK = Path(sys.executable).with_name("edgewhisk")
sys.path.insert(0, str(BENCH))

import _floor as floors  # noqa: E402  (bench/ is a folder of scripts, not a package)
import _versions as versions  # noqa: E402


def test_a_ref_tree_is_imported_instead_of_the_checkout_and_removed_after() -> None:
    with versions.tree("HEAD") as root:
        assert (root / "setup.cfg").is_file()
        env = {**os.environ, **versions.environment(root)}
        done = subprocess.run([sys.executable, "-c", "import edgewhisk_controller, "
                               "edgewhisk_runtime; print(edgewhisk_controller.__file__); "
                               "print(edgewhisk_runtime.__file__)"],
                              env=env, capture_output=True, text=True, timeout=60, check=True)
        assert all(line.startswith(str(root)) for line in done.stdout.split()), done.stdout
    assert not root.exists()


@pytest.mark.parametrize("ref", [pytest.param("no-such-ref-anywhere", id="an unknown name"),
                                 pytest.param("0" * 40, id="a commit the repository lacks")])
def test_an_unknown_ref_is_refused_before_anything_starts(tmp_path: Path, ref: str) -> None:
    assert not versions.known(ref)
    done = subprocess.run([str(EDGEWHISK), "bench", "controller", "--baseline", ref, "--out",
                           str(tmp_path / "c.png")], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 2 and f"git knows no commit {ref!r}" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_archive_of_an_unknown_ref_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="git archive 'no-such-ref-anywhere'"), \
            versions.tree("no-such-ref-anywhere"):
        pass


@pytest.mark.parametrize(("args", "message"), [
    pytest.param(["--pairs", "0"], "--pairs must be from 1 to 4", id="no pair"),
    pytest.param(["--pairs", "5"], "--pairs must be from 1 to 4", id="too many pairs"),
])
def test_pairs_out_of_range_are_refused_before_anything_starts(tmp_path: Path, args: list[str],
                                                               message: str) -> None:
    done = subprocess.run([str(EDGEWHISK), "bench", "controller", *args, "--out",
                           str(tmp_path / "c.png")], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 2 and message in done.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", [
    pytest.param(["--chunks", "1"], id="one chunk: no interval"),
    pytest.param(["--calls", "10", "--clients", "4", "--chunks", "3"],
                 id="more chunks than calls per client"),
])
def test_chunks_that_cannot_pair_are_refused_before_anything_starts(tmp_path: Path,
                                                                    args: list[str]) -> None:
    done = subprocess.run([str(EDGEWHISK), "bench", "controller", *args, "--out",
                           str(tmp_path / "c.png")], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 2 and "--chunks must be at least 2" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_short_run_prints_the_paired_intervals_within_120_columns(tmp_path: Path) -> None:
    """Six controllers (two on/off pairs), two chunks of 20 invokes: the tables' shape, not
    their numbers."""
    env = {**os.environ, "PYTHONWARNINGS": "default::DeprecationWarning"}
    done = subprocess.run([str(EDGEWHISK), "bench", "controller", "--calls", "40", "--clients",
                           "1", "--chunks", "2", "--pairs", "2", "--out",
                           str(tmp_path / "c.png")], env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Warning" not in done.stderr, done.stderr
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= 120
    on_off = lines[lines.index(next(line for line in lines if "aim < 5 %" in line)) + 1]
    assert re.fullmatch(r" +1( +\d+\.\d+){4} +4 +[+-]\d+\.\d % \[[+-]\d+\.\d, [+-]\d+\.\d\] +"
                        r"(met|missed|not shown) +[+-]\d+\.\d, [+-]\d+\.\d", on_off), on_off
    # ^ one level, two pairs of two chunks pooled, each pair's own cost
    assert sum("% [" in line for line in lines) == 5  # durable blocking, non-blocking, on/off,
    # and this checkout against asyncio's loop and against itself in a second process:
    head = next(i for i, line in enumerate(lines) if line.startswith("clients against"))
    for row, name in zip(lines[head + 1:head + 3], ("--loop asyncio", "this checkout, a 2nd"),
                         strict=True):
        assert re.fullmatch(r" +1 " + re.escape(name) + r"[ a-z]* +2 +[+-]\d+\.\d % "
                            r"\[[+-]\d+\.\d, [+-]\d+\.\d\]", row), row
    assert (tmp_path / "c.png").is_file()
    _check_floor_row(lines)


def _check_floor_row(lines: list[str]) -> None:
    """The floor's row: three parts, their sum, the controller, the quotient (as printed,
    to three decimals: within rounding of each other)."""
    head = next(i for i, line in enumerate(lines) if "controller / floor" in line)
    client, proxy, write, floor, controller, ratio = map(float, lines[head + 2].split())
    assert all(part > 0 for part in (client, proxy, write, controller))
    assert abs(client + proxy + write - floor) <= 0.0015 + 1e-9
    rounding = 0.005 + 0.0005 / floor + controller * 0.0005 / floor ** 2
    assert abs(controller / floor - ratio) <= rounding


def test_the_floor_alternates_its_parts_with_the_controller_and_sums_them() -> None:
    """``_floor.measure`` on callables that say what they cost: the tallies, the sum, the
    ratio the table prints, and the order reversed every other chunk."""
    order: list[str] = []

    def costing(name: str, per_call: float) -> Callable[[int], float]:
        def run(n: int) -> float:
            order.append(name)
            return n * per_call
        return run

    parts = {floors.CLIENT: costing("c", 0.0001), floors.PROXY: costing("p", 0.0002),
             floors.WRITE: costing("w", 0.00005)}
    floor = floors.measure(parts, costing("k", 0.0007), calls=10, chunks=2)
    assert order == ["c", "p", "w", "k", "k", "w", "p", "c"]
    assert [floor.parts[part].calls for part in floors.PARTS] == [10, 10, 10]
    assert floor.sum_ms == pytest.approx(0.35) and floor.controller.ms == pytest.approx(0.7)
    assert floors.table(floor).splitlines()[2].split() == [
        "0.100", "0.200", "0.050", "0.350", "0.700", "2.00"]


def test_the_floors_bare_server_is_a_devkit_service_answering_json_and_stopped_by_pid(
        tmp_path: Path) -> None:
    """The client exchange's server: started, waited for and stopped by the devkit's
    ``HttpService`` (its log in the folder), nothing left running."""
    with floors.BareServer(tmp_path) as server:
        answer = requests.post(f"{server.url}/invoke", json={"a": 1}, timeout=10)
        assert (answer.status_code, answer.json()) == (200, {"result": {"a": 1}})
        pid = server.pid
        assert alive(pid) and (tmp_path / "bare-aiohttp.log").is_file()
        assert server.stop() == 0  # SIGTERM: it closed its server and exited cleanly
    assert not alive(pid)
