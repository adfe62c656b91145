"""The CPU a process has used so far: the one reader of the benchmarks.

Why one: four benchmarks read it, two ways (``controller.py`` the process's CPU-time clock,
the others ``/proc/PID/stat``'s 10 ms ticks, a few percent of a chunk's CPU), so the same
controller's CPU per call depended on which benchmark asked.
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all its threads, exited ones too) of process ``pid`` so far.

    Precise where it can be: the process's CPU-time clock (Linux: ``clock_getcpuclockid``'s
    id, ``CPUCLOCK_SCHED``), in nanoseconds, readable for any process of this machine's PID
    namespace, a child or not, running or exited and not reaped yet (checked here). From
    ``/proc/PID/stat`` (utime + stime, 10 ms ticks) where it must be: a kernel that refuses
    that clock (``OSError``). Neither counts the children the process reaped (``cutime``):
    a process tree is summed over its live members (``gates.py``, ``_tunnel_cpu.py``).
    """
    try:
        return time.clock_gettime_ns(((~pid) << 3) | 2) / 1e9
    except OSError:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
