"""``edgewhisk bench artifacts --versions 3000 --repeat 5 --json``: the selector benchmark runs
end to end and reports every scenario with both percentiles; each resolving scenario picked a
version and the no-match scenario named its candidates. No timing is asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

EDGEWHISK = Path(sys.executable).with_name("edgewhisk")


def test_the_selector_benchmark_reports_every_scenario() -> None:
    done = subprocess.run([str(EDGEWHISK), "bench", "artifacts", "--versions", "3000",
                           "--repeat", "5", "--json"], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    doc = json.loads(done.stdout)
    assert doc["versions"] == 3000 and doc["index_build_ms"] >= 0
    rows = {row["scenario"]: row for row in doc["rows"]}
    assert len(rows) == 7
    for row in rows.values():
        assert 0 <= row["p50_ms"] <= row["p99_ms"], row
    outcomes = [row["outcome"] for row in rows.values()]
    assert sum(o.startswith("m") and "@" in o for o in outcomes) == 5
    assert "no match, 5 candidates" in outcomes
