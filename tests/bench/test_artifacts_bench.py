"""``edgewhisk bench artifacts``: both parts run end to end in one quick run.

The selector part (``--versions 3000 --repeat 5``) reports every scenario with both
percentiles; each resolving scenario picked a version and the no-match scenario named its
candidates. The transfer part (``--quick``: 1 and 8 MB, twice each) measured every source at
every size with a real controller, a real agent and a moto S3 server, printed progress while
bytes moved, wrote its PNG, and left nothing running. No timing is asserted (the numbers are
the benchmark's output, not a test's).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from invoker.harness import alive

EDGEWHISK = Path(sys.executable).with_name("edgewhisk")
SOURCES = ("cached", "tunnel", "s3")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str, Path]:
    plot = tmp_path_factory.mktemp("artifacts") / "artifacts.png"
    done = subprocess.run([str(EDGEWHISK), "bench", "artifacts", "--versions", "3000",
                           "--repeat", "5", "--quick", "--json", "--out", str(plot)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout), done.stderr, plot


def test_the_selector_benchmark_reports_every_scenario(quick_run: tuple[dict, str, Path]) -> None:
    doc, _, _ = quick_run
    assert doc["versions"] == 3000 and doc["index_build_ms"] >= 0
    rows = {row["scenario"]: row for row in doc["rows"]}
    assert len(rows) == 7
    for row in rows.values():
        assert 0 <= row["p50_ms"] <= row["p99_ms"], row
    outcomes = [row["outcome"] for row in rows.values()]
    assert sum(o.startswith("m") and "@" in o for o in outcomes) == 5
    assert "no match, 5 candidates" in outcomes


def test_every_source_was_measured_at_every_size(quick_run: tuple[dict, str, Path]) -> None:
    transfer = quick_run[0]["transfer"]
    assert transfer["sizes_mb"] == [1.0, 8.0] and transfer["repeat"] == 2
    measured = {(r["size_mb"], r["source"]) for r in transfer["rows"]}
    assert measured == {(s, src) for s in (1.0, 8.0) for src in SOURCES}
    for row in transfer["rows"]:
        assert row["n"] == 2 and 0 <= row["p50_ms"] <= row["max_ms"] and row["mb_per_s"] > 0
        assert (row["activation_p50_ms"] is not None) == (row["source"] == "tunnel"), row
    for ratio in transfer["ratios"]:
        assert ratio["tunnel_vs_s3_throughput"] > 0 and ratio["tunnel_vs_cached_latency"] > 0


def test_progress_lines_follow_every_transfer(quick_run: tuple[dict, str, Path]) -> None:
    """A line when each transfer ended (lines while bytes move depend on how long they take,
    so they are not asserted: the 200 MB run shows them)."""
    _, stderr, _ = quick_run
    for size in (1, 8):
        for rep in (1, 2):
            assert re.search(rf"tunnel {size} MB #{rep} \(v\d+\): done, {size} MB in \d+ ms",
                             stderr), stderr
            assert re.search(rf"s3 {size} MB #{rep}: done in \d+ ms", stderr), stderr


def test_the_plot_is_a_png(quick_run: tuple[dict, str, Path]) -> None:
    _, _, plot = quick_run
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_nothing_the_benchmark_started_is_left_running(quick_run: tuple[dict, str, Path]) -> None:
    pids = quick_run[0]["transfer"]["stopped_pids"]
    assert len(pids) >= 4, "moto, the controller, the agent and its container"
    assert [pid for pid in pids if alive(pid)] == []
