"""``edgewhisk bench memory --quick --json``: the memory benchmark runs end to end.

A smoke test only: a real controller, a real agent through the tunnel and the bare aiohttp
server; each phase has a row per round with the RSS of each of its processes, the growths are
the rows' arithmetic, the PNG exists and nothing the bench started still runs. No memory or
timing is asserted (the numbers are the benchmark's output, not a test's).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from . import quick_json

PROCESSES = {"local": ["controller", "bare aiohttp"],
             "tunnel": ["controller", "agent", "bare aiohttp"]}
ROUNDS, PER_ROUND = 4, 50  # --quick


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    plot = tmp_path_factory.mktemp("memory") / "memory.png"
    return quick_json("memory", plot), plot


def kb_per_1000(rows: list[dict], name: str, start: int, end: int) -> float:
    kb = (rows[end]["rss_mb"][name] - rows[start]["rss_mb"][name]) * 1024
    return kb * 1000 / (rows[end]["activations"] - rows[start]["activations"])


@pytest.mark.parametrize("phase", PROCESSES, ids=lambda p: f"{p}: a row per round")
def test_every_round_has_each_process_rss(quick_run: tuple[dict, Path], phase: str) -> None:
    doc, _ = quick_run
    rows = doc["phases"][phase]["rows"]
    assert [row["activations"] for row in rows] == [n * PER_ROUND for n in range(ROUNDS + 1)]
    for row in rows:
        assert sorted(row["rss_mb"]) == sorted(PROCESSES[phase]), row
        assert all(mb > 0 for mb in row["rss_mb"].values()), row


@pytest.mark.parametrize("phase", PROCESSES, ids=lambda p: f"{p}: growths from the rows")
def test_the_growths_are_the_rows_arithmetic(quick_run: tuple[dict, Path], phase: str) -> None:
    doc, _ = quick_run
    rows, grown = doc["phases"][phase]["rows"], doc["phases"][phase]["growth_kb_per_1000"]
    assert sorted(grown) == sorted(PROCESSES[phase])
    mid = ROUNDS // 2
    for name, got in grown.items():
        first, second = kb_per_1000(rows, name, 0, mid), kb_per_1000(rows, name, mid, ROUNDS)
        assert got["first_half"] == pytest.approx(first, abs=0.01), (name, got)
        assert got["second_half"] == pytest.approx(second, abs=0.01), (name, got)
        if got["first_half"] > 0:
            assert got["ratio"] == pytest.approx(got["second_half"] / got["first_half"], abs=0.01)
        else:
            assert got["ratio"] is None, got
    difference = grown["controller"]["second_half"] - grown["bare aiohttp"]["second_half"]
    assert doc["phases"][phase]["controller_minus_bare_kb_per_1000"] == pytest.approx(
        difference, abs=0.01)


def test_the_plot_is_written_and_nothing_keeps_running(quick_run: tuple[dict, Path]) -> None:
    doc, plot = quick_run
    assert plot.stat().st_size > 0 and doc["plot"] == str(plot)
    assert doc["rounds"] == ROUNDS and doc["per_round"] == PER_ROUND
    for pid in (doc["controller_pid"], doc["agent_pid"], doc["bare_pid"]):
        assert not Path(f"/proc/{pid}").exists(), pid
