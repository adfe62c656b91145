"""``edgewhisk bench placement --quick --json``: the Figure 4 benchmark runs end to end.

A smoke test only: the JSON has the issue's keys as parallel arrays, one entry per point, and
both our engine and the skippy peer placed something at every point. No timing is asserted
(performance belongs in the benchmark's own output).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

EDGEWHISK = Path(sys.executable).with_name("edgewhisk")
KEYS = ("nodes", "soft", "engine_per_s", "skippy_all_per_s", "skippy_sampled_per_s")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    plot = tmp_path_factory.mktemp("placement") / "placement.png"
    done = subprocess.run(
        [str(EDGEWHISK), "bench", "placement", "--quick", "--json", "--plot", str(plot),
         "--memory-invokers", "2000", "--memory-traced"],
        capture_output=True, text=True, timeout=540, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout), plot


def test_the_json_has_the_issue_keys_as_parallel_arrays(quick_run: tuple[dict, Path]) -> None:
    doc, _ = quick_run
    lengths = {key: len(doc[key]) for key in KEYS}
    assert set(lengths.values()) == {len(doc["nodes"])}, lengths
    assert len(doc["nodes"]) > 0


def test_both_experiments_are_in_it(quick_run: tuple[dict, Path]) -> None:
    doc, _ = quick_run
    assert set(doc["experiment"]) == {1, 2}
    assert {n for n, e in zip(doc["nodes"], doc["experiment"], strict=True) if e == 1} == {12_583}


@pytest.mark.parametrize("key", KEYS[2:], ids=lambda k: f"{k} is positive at every point")
def test_every_scheduler_placed_at_every_point(quick_run: tuple[dict, Path], key: str) -> None:
    doc, _ = quick_run
    assert all(value > 0 for value in doc[key]), doc[key]


def test_memory_and_the_plot_are_reported(quick_run: tuple[dict, Path]) -> None:
    doc, plot = quick_run
    assert doc["memory"]["invokers"] == 2000 and doc["memory"]["traced_mb"] > 0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
