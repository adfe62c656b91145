"""``edgewhisk bench fleet --quick``: the three preload strategies run side by side on the same
seeded days, through the controller's own components, and the invariants hold: no node store
above its budget, no preload while a phone was discharging or on a metered network. The hit
rates and costs are the benchmark's output, not asserted (only that each was measured); a
heartbeat that changes nothing pending work waits for re-tries none of it. The real-tunnel
sample (two ``edgewhisk invoker`` agents on the battery and network simulators) reports
through the controller's tunnel, and its standing policy puts the model on both phones,
never before they are plugged in and unmetered."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

EDGEWHISK = Path(sys.executable).with_name("edgewhisk")


def test_the_quick_fleet_benchmark_reports_every_strategy(tmp_path: Path) -> None:
    plot = tmp_path / "fleet.png"
    done = subprocess.run([str(EDGEWHISK), "bench", "fleet", "--quick", "--json", "--out",
                           str(plot)], capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    doc = json.loads(done.stdout)
    assert doc["devices"] == 60 and plot.stat().st_size > 0
    rows = {row["strategy"]: row for row in doc["rows"]}
    assert list(rows) == ["none", "standing", "predict"]
    for row in rows.values():
        assert row["first_activations"] > 0 and 0 <= row["hit_rate"] <= 1
        assert row["budget_violations"] == 0 and row["unsafe_preloads"] == 0, row
        assert row["context_events"] > 0 and row["cpu_us_per_event"] > 0
        assert 0 <= row["unused_bytes"] <= row["preloaded_bytes"]
    assert rows["none"]["preloaded_bytes"] == 0
    cost = doc["pending_cost"]
    assert [r["pending"] for r in cost] == [0, 100, 1000]
    assert all(r["retries"] == 0 and r["us_per_heartbeat"] > 0 for r in cost), cost
    assert "hit rate against none" in done.stderr  # the table goes to stderr with --json
    sample = doc["tunnel_sample"]
    assert sample["devices"] == 2 and sample["context_events"] > 0, sample
    assert sample["cpu_us_per_event"] > 0
    assert (sample["preloaded"], sample["held_at_end"], sample["unsafe_preloads"]) == (2, 2, 0)
    assert "real tunnel sample" in done.stderr


def test_a_fleet_smaller_than_its_sites_is_refused() -> None:
    done = subprocess.run([str(EDGEWHISK), "bench", "fleet", "--devices", "2"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2 and "--devices must be at least 5" in done.stderr
    negative = subprocess.run([str(EDGEWHISK), "bench", "fleet", "--tunnel-sample", "-1"],
                              capture_output=True, text=True, timeout=120, check=False)
    assert negative.returncode == 2 and "--tunnel-sample must be 0 or more" in negative.stderr
