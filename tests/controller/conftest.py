"""Session fixtures for the controller tests: a real CouchDB API (pouchdb-server).

pouchdb-server is installed by ``npm install --prefix .services pouchdb-server`` (the
Makefile does it); the session starts it (the devkit's launcher) on a free port with its data
in a temporary folder, waits until it answers, and stops its whole process group by pid at the
end.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from edgewhisk_devkit import CouchDB

from .api.harness import Client, Controller, create_namespace

ROOT = Path(__file__).resolve().parents[2]
POUCHDB_SERVER = ROOT / ".services" / "node_modules" / ".bin" / "pouchdb-server"
INSTALL = "npm install --prefix .services pouchdb-server"


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


@pytest.fixture(scope="session")
def couchdb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CouchDBServer]:
    if not POUCHDB_SERVER.exists():
        pytest.fail(f"pouchdb-server is not installed: run `{INSTALL}` in {ROOT}")
    with CouchDB(tmp_path_factory.mktemp("pouchdb"), POUCHDB_SERVER) as server:
        yield CouchDBServer(server.url)


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
