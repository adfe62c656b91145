"""``edgewhisk bench scale`` with small numbers, as the README runs it: end to end.

A smoke test only: 1 and 2 pinned controllers on pouchdb-server, with the read cache and
without, take blocking invokes (each invoke's store read gone with the cache), real claims
are counted without and with --cluster-shard (each without and with queue slots), the
conflict model runs on a real Redis, unsharded and sharded, the projection is printed with its
model, the PNG is written, and nothing it started is left running; with wrk installed (as CI
has it) the cached clusters are driven by wrk too and compared with the Python clients, else
the output says wrk is missing. No timing is asserted.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

from . import EDGEWHISK


def _left_running() -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "edgewhisk-bench-scale-" in text:
            found.append(text)
    return found


def readme_command() -> list[str]:
    """The README's quick run of this benchmark, as written there."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    line = next(line for line in readme.splitlines() if line.startswith("edgewhisk bench scale"))
    return shlex.split(line)


def test_the_scale_benchmark_reports_throughput_conflicts_and_a_projection(
        tmp_path: Path) -> None:
    """The README's command, verbatim, in a temporary folder (its ``--out`` is relative)."""
    command = readme_command()
    plot = tmp_path / command[command.index("--out") + 1]
    done = subprocess.run([str(EDGEWHISK), *command[1:]], cwd=tmp_path,
                          capture_output=True, text=True, timeout=540, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    out = done.stdout
    reads = {}  # store reads of one document per invoke, by cluster
    for name in ("1 ctl, no cache", "2 ctl, no cache", "1 controller", "2 controllers"):
        found = re.search(rf"^{name} +\d+ .* ([\d.]+) +([\d.]+) +([\d.]+)$", out, re.M)
        assert found, out
        reads[name] = float(found[2])
    for label in ("2/1 no cache", "2/1", "1: cache/none", "2: cache/none"):
        assert re.search(rf"^{re.escape(label)} +[\d.]+ ", out, re.M), out
    # the read cache: no store read of the action per invoke (the writes' batching varies)
    assert reads["1 ctl, no cache"] >= 0.95 and reads["2 ctl, no cache"] >= 0.95, out
    assert reads["1 controller"] <= 0.05 and reads["2 controllers"] <= 0.05, out
    if shutil.which("wrk"):  # CI installs it (runtime_images/host-setup.sh)
        for name in ("1 controller (wrk)", "2 controllers (wrk)", "2/1 (wrk)",
                     "1 controller (Python)", "2 controllers (Python)", "2/1 (Python)"):
            assert re.search(rf"^{re.escape(name)} +[\d.]+ +[\d.]+ +[\d.]+ +[\d.]+$", out,
                             re.M), out
    else:
        assert "wrk is not installed (apt-get install wrk)" in out, out
    real = re.findall(r"^ +(no|yes) +(\d+) +(\d+) +20 +\d+ +(\d+) +(\d+) +[\d.]+% +(\d+)$",
                      out, re.M)
    assert [r[:3] for r in real] == [(shard, queue, clients) for shard in ("no", "yes")
                                     for queue in ("0", "4") for clients in ("2", "4")], out
    assert all(int(r[3]) >= int(r[4]) for r in real), out  # conflicts among the claims
    rows = re.findall(r"^ +100 +2 +(no|yes) +\d+ +(\d+) +(\d+) +[\d.]+% +\d+$", out, re.M)
    assert [r[0] for r in rows] == ["no", "yes"] and all(int(r[1]) >= 50 for r in rows), out
    assert "projection: 10 controllers, 100,000 devices" in out and "model:" in out
    assert plot.stat().st_size > 0
    assert not _left_running()


def test_bad_numbers_are_refused() -> None:
    done = subprocess.run([str(EDGEWHISK), "bench", "scale", "--sizes", "5"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and "--sizes at least 10" in done.stderr
