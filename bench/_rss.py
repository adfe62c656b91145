"""The memory a process holds now: the one reader of the benchmarks.

Why one: the tunnel bench reads the controller's RSS around its fleet, the memory bench the
controller's, an agent's and a bare server's after every round; a second copy of the reader
could read another field (VmHWM, VmSize) and the two benches would disagree on one process.
"""

from __future__ import annotations

from pathlib import Path


def rss_mb(pid: int) -> float:
    """``VmRSS`` of process ``pid`` in MB (from ``/proc/PID/status``, whose kB it divides by
    1024: exact in a float); 0.0 for a process without one (a zombie, a kernel thread).

    RSS counts what the allocator took from the kernel and keeps for reuse, not only live
    objects: it does not fall when objects are freed, and a process that frees as much as it
    allocates holds it flat."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0
