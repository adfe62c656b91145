"""Session fixtures for the controller tests: a real CouchDB API (pouchdb-server).

pouchdb-server is installed by ``npm install --prefix .services pouchdb-server`` (the
Makefile does it); the session starts it on a free port with its data in a temporary
folder, waits until it answers, and stops its whole process group by pid at the end.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from .api.harness import Client, Controller, create_namespace

ROOT = Path(__file__).resolve().parents[2]
POUCHDB_SERVER = ROOT / ".services" / "node_modules" / ".bin" / "pouchdb-server"
INSTALL = "npm install --prefix .services pouchdb-server"
START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class CouchDBServer:
    """A running CouchDB-compatible server: ``url`` has no trailing slash."""

    url: str

    def drop_databases(self, prefix: str) -> None:
        """Delete every database whose name starts with ``prefix`` (a test's own)."""
        for name in requests.get(f"{self.url}/_all_dbs", timeout=10).json():
            if name.startswith(prefix):
                requests.delete(f"{self.url}/{name}", timeout=10).raise_for_status()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"pouchdb-server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if requests.get(url, timeout=1).ok:
                return
        except (requests.ConnectionError, requests.Timeout):  # not up, or up but slow
            pass
        time.sleep(0.2)
    pytest.fail(f"pouchdb-server did not answer on {url} in {START_TIMEOUT_S}s:\n{log.read_text()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server's process group (node may have children) and reap it."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def couchdb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CouchDBServer]:
    if not POUCHDB_SERVER.exists():
        pytest.fail(f"pouchdb-server is not installed: run `{INSTALL}` in {ROOT}")
    folder = tmp_path_factory.mktemp("pouchdb")
    log = folder / "server.log"
    url = f"http://127.0.0.1:{free_port()}"
    command = [str(POUCHDB_SERVER), "--host", "127.0.0.1", "--port", url.rsplit(":", 1)[1],
               "--dir", str(folder / "data")]
    with open(log, "wb") as out:
        # cwd: pouchdb-server writes config.json and log.txt into its working directory.
        process = subprocess.Popen(command, cwd=folder, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_until_up(url, process, log)
        yield CouchDBServer(url)
    finally:
        _stop(process)


# Clients of the module's controller, for every folder whose tests define the `controller`
# and `data_dir` fixtures (api/, artifacts/): the guest key and a second namespace.

@pytest.fixture(scope="module")
def other_key(controller: Controller, data_dir: Path) -> str:
    return create_namespace(["--data", str(data_dir)], "other")


@pytest.fixture
def guest(controller: Controller) -> Iterator[Client]:
    with controller.client() as client:
        yield client


@pytest.fixture
def other(controller: Controller, other_key: str) -> Iterator[Client]:
    with controller.client(other_key) as client:
        yield client
