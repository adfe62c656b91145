"""``bench/_cpu.py``: the benchmarks' one reader of a process's CPU.

Read from the process's CPU-time clock, it agrees with ``/proc``'s ticks within a tick, is
finer than a tick, grows with the CPU a child burns, still reads a child that exited and is
not reaped, and a process that is gone is an error, not a number.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from _cpu import cpu_seconds  # noqa: E402

TICK_S = 1 / os.sysconf("SC_CLK_TCK")


def _ticks_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * TICK_S


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_a_childs_cpu_is_read_from_its_clock_finer_than_proc() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time\nend = time.process_time()"
                              " + 0.3\nwhile time.process_time() < end: pass"])
    try:
        readings = []
        while _state(child.pid) != "Z" and len(readings) < 500:  # poll() would reap it
            readings.append(cpu_seconds(child.pid))
            time.sleep(0.01)
        assert readings == sorted(readings)  # it only grows
        exited = cpu_seconds(child.pid)
        assert abs(exited - _ticks_s(child.pid)) <= 2 * TICK_S
        assert exited >= 0.3
        assert any(abs(r / TICK_S - round(r / TICK_S)) > 1e-6 for r in readings)  # finer
    finally:
        child.wait()
    with pytest.raises(OSError):
        cpu_seconds(child.pid)  # reaped: gone
