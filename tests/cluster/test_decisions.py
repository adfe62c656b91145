"""The standing preloads' decisions shared through the cluster's Redis
(``cluster/decisions.py``): capped, oldest first, and a Redis that cannot be reached leaves a
controller listing its own decisions, said in its log, rather than failing the listing."""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from edgewhisk_controller.artifacts import ArtifactRegistry
from edgewhisk_controller.artifacts.standing import StandingPreloads
from edgewhisk_controller.blobs import open_blobs
from edgewhisk_controller.cluster import keys
from edgewhisk_controller.cluster.decisions import RedisDecisions
from edgewhisk_controller.placement import Engine
from edgewhisk_controller.stores import open_store
from edgewhisk_devkit import Redis


def decision(n: int) -> dict[str, Any]:
    return {"policy": "guest/base#p", "invoker": f"dev-{n}", "artifact": "guest/base@1",
            "status": "preloaded", "at": n, "reason": "standing policy: every device",
            "controller": "c0"}


def test_the_shared_decisions_are_capped_and_oldest_first(redis: Redis) -> None:
    async def scenario() -> list[dict[str, Any]]:
        client = aioredis.from_url(redis.uri, decode_responses=True)
        try:
            await client.delete(keys.PRELOAD_DECISIONS)
            shared = RedisDecisions(client, "c0", keep=3)
            for n in range(5):
                await shared.add(decision(n))
            return await RedisDecisions(client, "c1", keep=3).recent()
        finally:
            await client.delete(keys.PRELOAD_DECISIONS)
            await client.aclose()

    assert asyncio.run(scenario()) == [decision(2), decision(3), decision(4)]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_redis_away_leaves_this_controllers_own_decisions(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Nothing listens where the cluster's Redis should be: the listing is this controller's
    decisions, with a warning in its log."""
    async def scenario() -> list[dict[str, Any]]:
        store = open_store(str(tmp_path / "store.sqlite3"))
        registry = ArtifactRegistry(store, open_blobs(str(tmp_path / "blobs")), max_size=10**6)
        standing = StandingPreloads(store, registry, Engine(), lambda id: None, list)
        client = aioredis.from_url(f"redis://127.0.0.1:{_closed_port()}",
                                   decode_responses=True)
        standing.shared = RedisDecisions(client, "c0")
        try:
            standing.decisions.append(decision(1))
            return await standing.recent()
        finally:
            await client.aclose()
            await store.close()

    with caplog.at_level(logging.WARNING):
        assert asyncio.run(scenario()) == [decision(1)]
    assert "the cluster's preload decisions could not be read" in caplog.text
