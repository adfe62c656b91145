"""Several ``edgewhisk controller`` processes working as one: the same CouchDB (``--db``) and
the same Redis (``--cluster-redis``), each with its own data folder, port and log.

Why started one after the other: each start writes the guest namespace and the catalog when
they differ, and a start waits for the previous one's ``APIHOST=``, so the shared documents
are written once rather than raced. Each controller is stopped by its pid, like a lone one;
:meth:`Cluster.kill` SIGKILLs one (the tests' and the benchmark's failure).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from signal import SIGKILL
from types import TracebackType

from .controller import Controller


class Cluster:
    """``count`` controllers on ``db`` and ``redis`` (a context manager; without ``redis``
    they share the store only, and a device is reachable through its own controller alone);
    folders and logs
    under ``folder`` (``c0``, ``c1``...). ``options`` go to every controller; ``wrap`` (one
    per controller, e.g. ``taskset -c N``) prefixes each command."""

    def __init__(self, folder: Path, count: int, *, db: str, redis: str | None = None,
                 options: Sequence[str] = (),
                 wraps: Sequence[Sequence[str]] = ()) -> None:
        if count < 1:
            raise ValueError(f"a cluster has at least one controller, got {count}")
        self.controllers = [
            Controller(folder / f"c{i}", "--db", db,
                       *(("--cluster-redis", redis, "--cluster-id", f"c{i}") if redis else ()),
                       *options,
                       wrap=wraps[i] if i < len(wraps) else ())
            for i in range(count)]

    def start(self) -> Cluster:
        try:
            for controller in self.controllers:
                controller.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    def __getitem__(self, index: int) -> Controller:
        return self.controllers[index]

    def __len__(self) -> int:
        return len(self.controllers)

    @property
    def api_hosts(self) -> list[str]:
        return [c.api_host for c in self.controllers]

    def running(self, index: int) -> bool:
        """Whether controller ``index`` was started and not stopped or killed since."""
        return self.controllers[index].child.process is not None

    def kill(self, index: int) -> None:
        """SIGKILL controller ``index`` (nothing of it runs on: its containers die with it)."""
        self.controllers[index].stop(SIGKILL)

    def stop(self) -> None:
        """Stop every controller still running, by pid (idempotent)."""
        for controller in self.controllers:
            controller.stop()
