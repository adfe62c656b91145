"""pouchdb-server (CouchDB's HTTP API, from npm) as a child process on a free loopback port:
the shared store of several controllers in the benchmarks (``bench/scale.py``).

Ready when it answers ``GET /``; its data lives in ``FOLDER/data``, and it writes its
``config.json`` and ``log.txt`` into ``FOLDER`` (its working directory); it leads its own
process group (node may start children) and is stopped by its pid.
"""

from __future__ import annotations

import socket
import time
import urllib.request
from pathlib import Path
from types import TracebackType

from .exceptions import StartError
from .process import Child

START_TIMEOUT_S = 60.0
INSTALL = "npm install --prefix .services pouchdb-server"


class CouchDB:
    """``pouchdb-server`` (``server``: its executable) in ``folder``; ``url`` once started."""

    def __init__(self, folder: Path, server: Path) -> None:
        self.folder = folder
        self.server = server
        self.url = ""
        self.child: Child | None = None

    def start(self) -> CouchDB:
        if not self.server.exists():
            raise StartError(f"couchdb: {self.server} is missing: run `{INSTALL}`")
        self.folder.mkdir(parents=True, exist_ok=True)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{port}"
        child = Child([str(self.server), "--host", "127.0.0.1", "--port", str(port),
                       "--dir", str(self.folder / "data")], self.folder / "server.log",
                      cwd=self.folder, own_group=True)
        child.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline and child.poll() is None:
            try:
                with urllib.request.urlopen(self.url, timeout=1):
                    self.child = child
                    return self
            except OSError:
                time.sleep(0.2)
        child.stop()
        raise StartError(f"couchdb: pouchdb-server did not answer on {self.url}",
                         child.log())

    @property
    def pid(self) -> int:
        return 0 if self.child is None else self.child.pid

    def stop(self) -> int | None:
        child, self.child = self.child, None
        return None if child is None else child.stop()

    def __enter__(self) -> CouchDB:
        return self if self.child is not None else self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()
