"""``edgewhisk bench frontdoor --quick --json``: the front-door benchmark runs end to end.

A smoke test only: a real controller, every way of reaching the action answers, each way
has both percentiles and a ratio to its baseline, and the PNG is written. No timing is
asserted (the numbers are the benchmark's output, not a test's).
"""

from __future__ import annotations

from pathlib import Path

from . import quick_json

WAYS = ("direct", "package", "binding", "shared", "web", "route", "sequence of 1",
        "1 direct", "sequence of 2", "2 direct")


def test_every_way_is_measured_against_its_baseline(tmp_path: Path) -> None:
    plot = tmp_path / "frontdoor.png"
    summary = quick_json("frontdoor", plot)
    assert tuple(summary) == WAYS
    for way, row in summary.items():
        assert 0 < row["p50_ms"] <= row["p99_ms"], (way, row)
        assert row["ratio"] > 0, (way, row)
    assert summary["direct"]["ratio"] == 1.0
    assert plot.stat().st_size > 0
