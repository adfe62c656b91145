"""How ``create_app`` wires the parts: what one part observes reaches the part that decides.

Real aiohttp server in process, real local invoker with the ``process`` backend (runtime proxies
as child processes), real SQLite store under ``tmp_path``; the REST client runs on a worker
thread so that the server keeps running on the loop meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import web
from edgewhisk_client import Client
from edgewhisk_controller.app import create_app
from edgewhisk_controller.auth import GUEST_KEY
from edgewhisk_controller.config import ControllerConfig
from edgewhisk_controller.keys import DISPATCHER, REGISTRY
from edgewhisk_controller.placement.state import View
from edgewhisk_devkit import app_server

CODE = "def main(args):\n    return {'ok': True}\n"


async def _invoke(client: Client, name: str,
                  annotations: list[dict[str, Any]] | None = None) -> None:
    action = {"exec": {"kind": "python:3", "code": CODE}, "limits": {"memory": 256},
              "annotations": annotations or []}
    await asyncio.to_thread(client.actions.put, name, action, overwrite=False)
    done = await asyncio.to_thread(client.actions.invoke, name)
    assert done.status == 200, done.record


@contextlib.asynccontextmanager
async def _controller(config: ControllerConfig) -> AsyncIterator[tuple[web.Application, str]]:
    app = create_app(config)
    async with app_server(app) as url:
        yield app, url


def _client(url: str) -> Client:
    return Client(url, GUEST_KEY)


def test_a_model_the_local_invoker_staged_is_known_to_placement_and_the_registry(
        tmp_path: Path) -> None:
    """The controller's own invoker fetches a cloud model into its node store for a run; then
    placement's cached column has its name (CachedArtifact) and the registry lists the
    invoker among the version's copies — as edge devices report theirs through the tunnel."""
    consumes = {"key": "edgewhisk", "value": {"version": 1, "consumes": [
        {"kind": "model", "name": "model", "ref": "shared-model"}]}}

    async def scenario() -> tuple[list[str], list[int], frozenset[str]]:
        async with _controller(ControllerConfig(data=tmp_path, invokers=1)) as (app, url):
            with _client(url) as client:
                await asyncio.to_thread(client.artifacts.put, "shared-model", b"weights",
                                        kind="model")
                engine = app[DISPATCHER].placement
                assert not View(engine.state).has_all("cached", ("shared-model",)).any()
                await _invoke(client, "uses-model", [consumes])
                await app[REGISTRY].settled()
                doc = await asyncio.to_thread(client.artifacts.get, "shared-model@1")
                (invoker,) = app[DISPATCHER].invokers
                return doc["copies"], View(engine.state).has_all(
                    "cached", ("shared-model",)).nonzero()[0].tolist(), invoker.held

    copies, rows, held = asyncio.run(scenario())
    assert copies == ["cloud", "local0"]
    assert rows == [0]
    assert held == frozenset({"guest/shared-model@1"})


def test_a_container_the_local_pool_evicts_is_no_longer_warm_for_placement(
        tmp_path: Path) -> None:
    """The pool has room for one 256 MB container: running b evicts a's warm container, and the
    placement engine must stop counting a as warm there (else WarmContainer misleads it)."""

    async def scenario() -> tuple[set[int], set[int], set[int]]:
        config = ControllerConfig(data=tmp_path, invokers=1, invoker_memory_mb=256)
        async with _controller(config) as (app, url):
            with _client(url) as client:
                engine = app[DISPATCHER].placement
                await _invoke(client, "a")
                warm_a = set(engine.state.warm.get("guest/a@0.0.1", set()))
                await _invoke(client, "b")
            await asyncio.sleep(0.2)  # the evicted container's callback runs on the loop
            return (warm_a, set(engine.state.warm.get("guest/a@0.0.1", set())),
                    set(engine.state.warm.get("guest/b@0.0.1", set())))

    warm_a_before, warm_a_after, warm_b = asyncio.run(scenario())
    assert warm_a_before == {0}
    assert warm_a_after == set()
    assert warm_b == {0}
