"""Work folders that carry their owner, and the sweep that removes those of dead owners.

Why: a container's work folder (``edgewhisk-container-*``), a standalone proxy's
(``edgewhisk-action-*``) and a local runtime's logs (``edgewhisk-runtime-*``) are removed by
their owner when it stops; a controller or agent that is SIGKILLed or crashes cannot, and its
folders (actions, their artifacts) would stay in the temporary folder for ever. So each folder
is named after its owner: ``PREFIX<pid>.<start>-<random>``, where ``start`` is the owner's start
time in clock ticks since boot (``/proc/PID/stat``), so a pid the kernel has reused since does
not pass for the owner. The name is given by ``mkdtemp`` itself: no folder exists, not even
for an instant, without its owner. :func:`sweep` (run by the controller and the agent at
start) removes the folders whose owner is gone, and keeps every other one (a live owner's,
or one whose name does not say).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

CONTAINER = "edgewhisk-container-"
ACTION = "edgewhisk-action-"
RUNTIME = "edgewhisk-runtime-"
PREFIXES = (CONTAINER, ACTION, RUNTIME)
_OWNED = re.compile(r"(?P<prefix>edgewhisk-(?:container|action|runtime)-)"
                    r"(?P<pid>\d+)\.(?P<start>\d+)-")


def start_ticks(pid: int) -> int | None:
    """When ``pid`` started (clock ticks since boot), or None if there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: count after its last ")".
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[19])  # field 22 of stat(5); fields[0] is field 3


def owner_tag(pid: int | None = None) -> str:
    """``<pid>.<start>`` of ``pid`` (default: this process)."""
    pid = os.getpid() if pid is None else pid
    return f"{pid}.{start_ticks(pid) or 0}"


def make(prefix: str, root: Path | None = None) -> Path:
    """A new folder ``PREFIX<owner>-<random>`` under ``root`` (default: the temp folder)."""
    if root is not None:
        root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{owner_tag()}-", dir=root))


def owner_alive(name: str) -> bool | None:
    """Whether the owner named in a folder name runs; None if the name names none."""
    match = _OWNED.match(name)
    if match is None:
        return None
    return start_ticks(int(match["pid"])) == int(match["start"])


def sweep(root: Path | None = None) -> list[Path]:
    """Remove the work folders under ``root`` (default: the temp folder) whose owner is gone;
    the folders removed."""
    folder = Path(tempfile.gettempdir()) if root is None else root
    removed = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return []
    for entry in entries:
        if owner_alive(entry.name) is False and entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed
