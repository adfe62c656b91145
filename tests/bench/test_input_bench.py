"""``edgewhisk bench input --quick``: both parts run end to end in one quick run.

Every body kind was read by both readers, every controller case answered with its expected
status (the benchmark itself fails if a refusal ran anything), the plot was written and nothing
was left running. No timing is asserted (the numbers are the benchmark's output, not a test's).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

EDGEWHISK = Path(sys.executable).with_name("edgewhisk")


def test_the_input_benchmark_reports_both_parts(tmp_path: Path) -> None:
    plot = tmp_path / "input.png"
    done = subprocess.run([str(EDGEWHISK), "bench", "input", "--quick", "--json",
                           "--out", str(plot)], capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    doc = json.loads(done.stdout)
    assert [r["body"] for r in doc["reader"]] == [
        "small invoke", "1 MiB of strings", "1 MiB of numbers", "1 MiB of objects",
        "4 MB action code", "heartbeat frame", "1 MiB result frame"]
    assert all(r["json_ms"] > 0 and r["strict_ms"] > 0 for r in doc["reader"])
    statuses = {r["request"]: r["status"] for r in doc["controller"]}
    assert statuses == {"valid invoke": 200, "valid invoke, 1 MiB payload": 200,
                        "NaN in the parameters": 400, "nesting 100,000 deep": 400,
                        "a 5,000-digit integer": 400, "a payload over 1 MiB": 413}
    assert plot.stat().st_size > 0 and "controller: 4/4" in done.stderr
