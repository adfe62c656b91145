"""``make test`` runs the suite in two lanes (tests/lanes.sh). What it must keep: the exit
status says a lane failed, and a failed lane's FAILED and ERROR lines come last, after both
lanes' output, since CI shows only the end of a run. Real ``bash`` runs the script with two
stand-in interpreters that print what pytest prints and exit as told."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _interpreter(path: Path, lines: str, status: int) -> str:
    path.write_text(f"#!/bin/sh\nprintf '%s\\n' \"ran $*\"\ncat <<'OUT'\n{lines}\nOUT\n"
                    f"exit {status}\n")
    path.chmod(0o755)
    return str(path)


def _lanes(tmp_path: Path, core: tuple[str, int], ai: tuple[str, int]
           ) -> subprocess.CompletedProcess[str]:
    core_py = _interpreter(tmp_path / "core", *core)
    ai_py = _interpreter(tmp_path / "ai", *ai)
    return subprocess.run(["bash", str(ROOT / "tests/lanes.sh"), core_py, ai_py, "tests/x"],
                          capture_output=True, text=True, timeout=30, check=False)


@pytest.mark.parametrize(("ai", "status"), [
    (("FAILED tests/m.py::t_mx - mx broke", 1), 1),
    (("1 passed", 0), 0),
])
def test_a_failed_lane_is_named_last_and_sets_the_status(
        tmp_path: Path, ai: tuple[str, int], status: int) -> None:
    done = _lanes(tmp_path, ("1 passed", 0), ai)
    assert done.returncode == status
    last = done.stdout.splitlines()[-2:]
    if status:
        assert last == ["[system] FAILED tests/m.py::t_mx - mx broke",
                        "lanes: other exited 0, system 1"]
    else:
        assert last[-1] == "lanes: other exited 0, system 0"
        assert "FAILED" not in done.stdout


def test_the_other_lanes_failure_wins_and_both_are_named(tmp_path: Path) -> None:
    done = _lanes(tmp_path, ("ERROR tests/a.py::t - setup broke", 4),
                  ("FAILED tests/m.py::t_mx - x", 1))
    assert done.returncode == 4
    # The core interpreter runs in both lanes (the system tests, then the other tests): it
    # reports its error in each; the system lane stops there, before MXNet's tests.
    assert done.stdout.splitlines()[-3:] == ["[system] ERROR tests/a.py::t - setup broke",
                                             "[other]  ERROR tests/a.py::t - setup broke",
                                             "lanes: other exited 4, system 4"]
    assert "t_mx" not in done.stdout


def test_the_system_paths_are_given_to_one_lane_and_ignored_by_the_other(
        tmp_path: Path) -> None:
    out = _lanes(tmp_path, ("1 passed", 0), ("1 passed", 0)).stdout
    assert "[system] ran -m pytest -m not mxnet and not fleet tests/x" in out
    assert "[other]  ran -m pytest -m not mxnet and not fleet --ignore=tests/x" in out
    assert "[system] ran -m pytest -m mxnet and not fleet" in out
