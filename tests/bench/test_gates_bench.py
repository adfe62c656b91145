"""``edgewhisk bench gates --quick --json``: the gates benchmark runs end to end.

A smoke test only: two real proxies served the MXNet model (one with predict's drift gates,
which answered with verdicts: the benchmark checks the header on every call), every measure of
the issue is reported for each batch size, the window's memory is reported per activation
size, the PNG exists. No timing is asserted (the numbers are the benchmark's output).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from . import quick_json

pytestmark = pytest.mark.mxnet  # the proxies serve the MXNet model (the ai extra)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    plot = tmp_path_factory.mktemp("gates") / "gates.png"
    return quick_json("gates", plot), plot


def test_each_batch_size_reports_both_proxies_the_forward_pass_and_the_overhead(
        quick_run: tuple[dict, Path]) -> None:
    doc, _ = quick_run
    assert [row["batch"] for row in doc["rows"]] == [1, 32]
    for row in doc["rows"]:
        assert row["calls"] == 200
        for measure in ("plain_ms", "gated_ms", "forward_ms"):
            assert set(row[measure]) == {"p50", "p99"}
            assert all(value > 0 for value in row[measure].values()), row
        assert set(row["overhead_ms"]) == {"p50", "p99"}
        assert row["overhead_ratio"] == pytest.approx(
            row["overhead_ms"]["p50"] / row["forward_ms"]["p50"])
        assert row["aim_ms"] == pytest.approx(max(0.2, 0.05 * row["forward_ms"]["p50"]))
        assert row["meets_aim"] is (row["overhead_ms"]["p50"] < row["aim_ms"])
        assert row["hook_ms"]["plain_p50"] > 0 and row["hook_ms"]["hooked_p50"] > 0
        assert row["cpu_ms"]["plain"] > 0 and row["cpu_ms"]["gated"] > 0


def test_the_window_memory_is_reported_per_activation_size(quick_run: tuple[dict, Path]) -> None:
    doc, _ = quick_run
    memory = {int(size): nbytes for size, nbytes in doc["window_bytes"].items()}
    assert sorted(memory) == [1, 32, 256]
    assert memory[1] > memory[32] > memory[256] > 0, \
        "a window of many small activations holds more summaries"


def test_the_plot_is_written(quick_run: tuple[dict, Path]) -> None:
    _, plot = quick_run
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
