"""Standing preload policies across controllers (``artifacts/standing.py``): every controller
keeps every policy, those the others make or delete followed through the store's changes feed,
a device's reports are acted on by the controller holding its tunnel, and every controller
lists every controller's decisions (``cluster/decisions.py``).

Two controllers on pouchdb-server, Redis and one moto S3 bucket (``--blobs``: the bytes a
controller uploaded, the other can push), real agents with a node store each."""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from controller.artifacts.conftest import S3Server, s3_server
from edgewhisk_client import Client
from edgewhisk_devkit import Agent, Cluster, Redis

from .conftest import agent, wait_for_peer
from .test_changes import seen_within

__all__ = ["s3_server"]  # moto's server, shared with tests/controller/artifacts

WEIGHTS = b"a model every device should hold" * 64
TIMEOUT_S = 15.0


def upload(client: Client, name: str) -> str:
    """A ``cloud`` model version through ``client``: its reference."""
    doc = client.artifacts.put(name, WEIGHTS + name.encode(), kind="model",
                               sha256=hashlib.sha256(WEIGHTS + name.encode()).hexdigest())
    return f"{doc['name']}@{doc['version']}"


def listed(client: Client, name: str) -> list[dict[str, Any]]:
    """Every decision ``client``'s controller lists for ``name``'s policies."""
    return [d for policy in client.artifacts.preload_policies(name)
            for d in policy["decisions"]]


def decisions(client: Client, name: str) -> list[tuple[str, str]]:
    """(invoker, status) of every decision ``client``'s controller lists for ``name``."""
    return [(d["invoker"], d["status"]) for d in listed(client, name)]


def wait_for_decision(client: Client, name: str, invoker: str) -> list[tuple[str, str]]:
    """Until ``client``'s controller decided something about ``invoker`` for ``name``."""
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        found = [d for d in decisions(client, name) if d[0] == invoker]
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"no decision about {invoker} for {name}: {decisions(client, name)}")


@pytest.fixture
def cluster(tmp_path: Path, db: str, redis: Redis, s3_server: S3Server) -> Iterator[Cluster]:
    bucket = f"t{hashlib.sha256(str(tmp_path).encode()).hexdigest()[:16]}"
    with Cluster(tmp_path, 2, db=db, redis=redis.uri,
                 options=("--invokers", "0", "--blobs", s3_server.url(bucket))) as started:
        yield started


@contextlib.contextmanager
def device(cluster: Cluster, client: Client, id: str, logs: Path) -> Iterator[Agent]:
    """``id`` registered with c1, with a node store."""
    started = agent(cluster, client, id, [1], logs, "--no-sandbox",
                    "--store", str(logs / f"store-{id}"))
    try:
        started.wait_registered()
        yield started
    finally:
        started.stop()


def test_a_policy_outlives_the_controller_that_made_it(cluster: Cluster,
                                                       tmp_path: Path) -> None:
    """c0 makes the policy (c1 had read the policies before: none) and is SIGKILLed; a
    device registering with c1 afterwards gets the version from c1. Before, c1 read the
    policies once, and learnt of none made elsewhere until it restarted. c1 lists c0's
    decision too (before, each controller listed its own)."""
    with cluster[0].client() as c0, cluster[1].client() as c1, \
            device(cluster, c1, "dev-a", tmp_path):
        wait_for_peer(c0, "dev-a", controller="c1")
        ref = upload(c0, "base")
        made = c0.artifacts.add_preload_policy("base", {})
        cluster.kill(0)
        with device(cluster, c1, "dev-b", tmp_path):
            found = wait_for_decision(c1, "base", "dev-b")
            copies = c1.artifacts.get(ref)["copies"]
            by = [(d["invoker"], d["controller"]) for d in listed(c1, "base")]
    assert [(d["invoker"], d["status"]) for d in made["applied"]] == [("dev-a", "preloaded")]
    assert found == [("dev-b", "preloaded")]
    assert "dev-b" in copies
    assert ("dev-a", "c0") in by and ("dev-b", "c1") in by  # c0's kept after its death


def test_a_policy_deleted_on_one_controller_stops_on_the_others(cluster: Cluster,
                                                                 tmp_path: Path) -> None:
    """Two policies made on c0 before any device; dev-a registers with c1, which pushes both
    (c0 sees dev-a second-hand and leaves it to c1). c0 deletes one; dev-b registering with
    c1 then gets only the other. Before, c1 kept applying the deleted policy."""
    with cluster[0].client() as c0, cluster[1].client() as c1:
        refs = {name: upload(c0, name) for name in ("base", "other")}
        made = {name: c0.artifacts.add_preload_policy(name, {}) for name in refs}
        for name in refs:  # c1 lists it within the second the cluster's caches promise
            seen_within(lambda: bool(c1.artifacts.preload_policies(name)))  # noqa: B023
        with device(cluster, c1, "dev-a", tmp_path):
            wait_for_peer(c0, "dev-a", controller="c1")
            first = {name: wait_for_decision(c1, name, "dev-a") for name in refs}
            c0.artifacts.delete_preload_policy("base", made["base"]["id"])
            seen_within(lambda: not c1.artifacts.preload_policies("base"))
            with device(cluster, c1, "dev-b", tmp_path):
                control = wait_for_decision(c1, "other", "dev-b")
                time.sleep(1.0)  # what c1 would push of the deleted policy, pushed by now
                copies = {name: c1.artifacts.get(ref)["copies"] for name, ref in refs.items()}
            at = {c: [d for name in refs for d in listed(client, name)]
                  for c, client in (("c0", c0), ("c1", c1))}
    assert first == {"base": [("dev-a", "preloaded")], "other": [("dev-a", "preloaded")]}
    assert control == [("dev-b", "preloaded")]
    assert "dev-b" in copies["other"] and "dev-b" not in copies["base"]
    assert at["c0"] == at["c1"], "both controllers list the same decisions"
    assert {d["controller"] for d in at["c0"]} == {"c1"}, "c0 acted on a device c1 holds"
    assert "cannot serve" not in cluster[0].log() + cluster[1].log()  # one bucket: shared
