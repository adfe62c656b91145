"""A preload whose selector picks a device another controller holds is asked of that
controller through Redis (``Routing.preload``), whose hub pushes the bytes down the device's
tunnel: the answer is the device's, as for a device held where the preload was asked."""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from controller.artifacts.conftest import S3Server, s3_server
from edgewhisk_client import Client
from edgewhisk_controller.artifacts.exceptions import StagingFailed
from edgewhisk_controller.cluster import keys, routing
from edgewhisk_controller.cluster.claims import Claims
from edgewhisk_controller.cluster.peer import PeerInvoker
from edgewhisk_controller.cluster.routing import Routing
from edgewhisk_controller.placement.interface import InvokerState
from edgewhisk_devkit import Cluster, Redis

from .conftest import agent, wait_for_peer

__all__ = ["s3_server"]  # moto's server, shared with tests/controller/artifacts

WEIGHTS = b"the base model's weights" * 100


@pytest.fixture
def bucket() -> str:
    return f"t{uuid.uuid4().hex[:16]}"


@pytest.fixture
def remote(tmp_path: Path, db: str, redis: Redis, s3_server: S3Server,
           bucket: str) -> Iterator[tuple[Client, str]]:
    """Two controllers on one S3 bucket (``--blobs``), dev-a on c1: c0's client, once c0
    sees dev-a as c1's; and the version uploaded through c0."""
    with Cluster(tmp_path, 2, db=db, redis=redis.uri,
                 options=("--invokers", "0", "--blobs", s3_server.url(bucket))) as cluster, \
            cluster[0].client() as c0:
        device = agent(cluster, c0, "dev-a", [1], tmp_path, "--no-sandbox",
                       "--store", str(tmp_path / "store"))
        try:
            device.wait_registered()
            wait_for_peer(c0, "dev-a", controller="c1")
            doc = c0.artifacts.put("base", WEIGHTS, kind="model",
                                   sha256=hashlib.sha256(WEIGHTS).hexdigest())
            yield c0, f"{doc['name']}@{doc['version']}"
        finally:
            device.stop()


def test_a_preload_reaches_a_device_another_controller_holds(
        remote: tuple[Client, str]) -> None:
    """c0's preload picks dev-a, held by c1: c1 pushes it (``preloaded``), the registry
    then names dev-a among the version's copies, and a second preload answers ``cached``.
    Before, c0 refused it ("invoker 'dev-a' is connected to controller c1: preload it
    there")."""
    c0, ref = remote
    first = c0.artifacts.preload(ref, {})
    deadline = time.monotonic() + 10.0
    while "dev-a" not in c0.artifacts.get(ref)["copies"] and time.monotonic() < deadline:
        time.sleep(0.1)
    copies = c0.artifacts.get(ref)["copies"]
    again = c0.artifacts.preload(ref, {})
    assert first["devices"] == [{"invoker": "dev-a", "status": "preloaded", "reason": None}]
    assert "dev-a" in copies
    assert again["devices"] == [{"invoker": "dev-a", "status": "cached", "reason": None}]


class _Refusing:
    """A device whose store refuses what it is sent (as a full one does)."""

    async def preload(self, doc: dict[str, Any]) -> str:
        raise StagingFailed(f"invoker dev-b refused {doc['_id']}: its store is full")


@pytest.mark.parametrize("device, served, error", [
    ("dev-a", True, "invoker 'dev-a' is not connected to controller h"),
    ("dev-b", True, "invoker dev-b refused guest/base@1: its store is full"),
    ("dev-a", False, "controller h, which holds invoker 'dev-a', did not answer the preload "
                     "within 0.5 s"),
], ids=["the holder no longer holds it", "the device refuses", "the holder does not answer"])
def test_a_preload_the_holder_cannot_do_fails_with_its_reason(
        redis: Redis, monkeypatch: pytest.MonkeyPatch, device: str, served: bool,
        error: str) -> None:
    """On a real Redis, two ``Routing``s as two controllers' (no controller processes): the
    preload fails with ``StagingFailed`` naming why (the artifacts API answers it as that
    invoker's ``refused``), and the holder serves on."""
    monkeypatch.setattr(routing, "PRELOAD_S", 0.5)

    async def scenario() -> str:
        client = aioredis.from_url(redis.uri, decode_responses=True)
        held: dict[str, Any] = {"dev-b": _Refusing()}  # what the holder's hub has online
        asker = Routing("a", client, lambda id: None, Claims(client),
                        corrected=lambda id, free: None)
        holder = Routing("h", client, held.get, Claims(client),
                         corrected=lambda id, free: None)
        loops = [asyncio.create_task(asker.read_replies())]
        if served:
            loops.append(asyncio.create_task(holder.serve()))
        try:
            while asker.last_reply is None or \
                    (served and not await client.exists(keys.runs("h"))):
                await asyncio.sleep(0.01)
            peer = PeerInvoker(asker, "h", InvokerState(device, frozenset({"python:3"}),
                                                        512, 512, 0))
            with pytest.raises(StagingFailed) as failed:
                await peer.preload({"_id": "guest/base@1", "name": "base", "version": 1})
            return str(failed.value)
        finally:
            for loop in loops:
                while not loop.done():  # redis' client may swallow one cancellation
                    loop.cancel()
                    await asyncio.sleep(0.05)
            await asker.close()
            await holder.close()
            await client.delete(keys.runs("h"), keys.replies("a"))
            await client.aclose()

    assert asyncio.run(scenario()) == error
