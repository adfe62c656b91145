"""Helpers of the benchmark smoke tests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

EDGEWHISK = Path(sys.executable).with_name("edgewhisk")


def quick_json(name: str, plot: Path) -> dict[str, Any]:
    """``edgewhisk bench NAME --quick --json --out PLOT`` as a user runs it; its JSON."""
    done = subprocess.run([str(EDGEWHISK), "bench", name, "--quick", "--json", "--out",
                           str(plot)], capture_output=True, text=True, timeout=540, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout)  # type: ignore[no-any-return]
