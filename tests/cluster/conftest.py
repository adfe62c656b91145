"""Fixtures for several controllers as one: the CouchDB API (pouchdb-server, the controller
tests' session server), a Redis per module, and a cluster of 3 controllers on both, each test's
databases under their own prefix, removed afterwards.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from controller.conftest import CouchDBServer, couchdb_server
from edgewhisk_client import Client
from edgewhisk_devkit import Agent, Cluster, Redis, tunnel_url

__all__ = ["couchdb_server"]  # the session's pouchdb-server, shared with tests/controller


@pytest.fixture
def db(couchdb_server: CouchDBServer) -> Iterator[str]:
    """A CouchDB location of this test's own (a fresh database prefix), dropped after it."""
    prefix = f"cl_{uuid.uuid4().hex[:8]}_"
    yield f"{couchdb_server.url}?prefix={prefix}"
    couchdb_server.drop_databases(prefix)


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redis]:
    with Redis(tmp_path_factory.mktemp("redis")) as server:
        yield server


def agent(cluster: Cluster, client: Client, id: str, order: list[int], logs: Path,
          *options: str, urls: list[str] | None = None) -> Agent:
    """An agent with a token of its own dialling the cluster's controllers in ``order`` (or
    ``urls``: relays in front of them)."""
    token = str(client.tokens.create(id)["token"])
    urls = urls or [tunnel_url(cluster[i].api_host) for i in order]
    return Agent(urls, token, "--memory", "512", "--no-battery", *options, id=id,
                 log=logs / f"invoker-{id}.log", own_group=True).start()


def holder(cluster: Cluster, id: str) -> int | None:
    """Which controller holds the tunnel of invoker ``id`` now (connected and online)."""
    for index, controller in enumerate(cluster.controllers):
        if not cluster.running(index):  # stopped or killed
            continue
        with controller.client() as client:
            for invoker in client.invokers():
                if invoker["id"] == id and invoker.get("where") == "tunnel" \
                        and invoker.get("connected"):
                    return index
    return None


def status(client: Client) -> dict[str, Any]:
    """``GET .../cluster`` of ``client``'s controller."""
    return dict(client.request("GET", "cluster").json())


def wait_for_peer(client: Client, id: str, timeout_s: float = 5.0,
                  controller: str | None = None) -> dict[str, object]:
    """Until ``client``'s controller lists ``id`` as a peer's device (that ``controller``'s,
    if named); its status."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for invoker in client.invokers():
            if invoker["id"] == id and invoker["where"] == "peer" \
                    and controller in (None, invoker["controller"]):
                return invoker
        time.sleep(0.05)
    raise AssertionError(f"{id} never listed as a peer: {client.invokers()}")
