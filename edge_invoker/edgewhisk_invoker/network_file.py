"""Networks read from a file: the device's network simulator, and the hook for real detection.

Why a file: a test, the demo or an operator moves a device onto the corporate network by
writing one line (``echo corp >> FILE``), and on a real device a NetworkManager dispatcher
script (or any tool that knows which network the device is on) writes the same file. The agent
samples it with the battery, every ``--context-interval``, through the same interface as the
``--network-schedule`` simulator (:class:`~.context.NetworkSchedule`); the schedule's networks
are joined on top. One network name a line; blank lines and ``#`` comments are ignored; a
missing or unreadable file means no network from it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .context import NetworkEvent, NetworkSchedule


class NetworkFile(NetworkSchedule):
    def __init__(self, path: Path, initial: Iterable[str] = (),
                 events: Iterable[NetworkEvent] = ()) -> None:
        super().__init__(initial, events)
        self.path = path

    def at(self, elapsed_s: float) -> frozenset[str]:
        return super().at(elapsed_s) | read_networks(self.path)


def read_networks(path: Path) -> frozenset[str]:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError):
        return frozenset()
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return frozenset(line for line in lines if line)
