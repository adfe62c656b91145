"""How ``create_app`` wires the parts: what one part observes reaches the part that decides.

Real aiohttp server in process, real local invoker with the ``process`` backend (runtime proxies
as child processes), real SQLite store under ``tmp_path``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from edgewhisk_controller.app import create_app
from edgewhisk_controller.auth import GUEST_KEY
from edgewhisk_controller.config import ControllerConfig
from edgewhisk_controller.keys import DISPATCHER, REGISTRY
from edgewhisk_controller.placement.state import View

CODE = "def main(args):\n    return {'ok': True}\n"


async def _invoke(session: aiohttp.ClientSession, url: str, name: str,
                  annotations: list[dict[str, Any]] | None = None) -> None:
    action = {"exec": {"kind": "python:3", "code": CODE}, "limits": {"memory": 256},
              "annotations": annotations or []}
    async with session.put(f"{url}/api/v1/namespaces/_/actions/{name}", json=action) as r:
        assert r.status == 200, await r.text()
    async with session.post(f"{url}/api/v1/namespaces/_/actions/{name}?blocking=true") as r:
        assert r.status == 200, await r.text()


@contextlib.asynccontextmanager
async def _controller(config: ControllerConfig) -> AsyncIterator[tuple[web.Application, str]]:
    app = create_app(config)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield app, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def _session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        headers={"Authorization": aiohttp.encode_basic_auth(*GUEST_KEY.split(":", 1))})


def test_a_model_the_local_invoker_staged_is_known_to_placement_and_the_registry(
        tmp_path: Path) -> None:
    """The controller's own invoker fetches a cloud model into its node store for a run; then
    placement's cached column has its name (CachedArtifact) and the registry lists the
    invoker among the version's copies — as edge devices report theirs through the tunnel."""
    consumes = {"key": "edgewhisk", "value": {"version": 1, "consumes": [
        {"kind": "model", "name": "model", "ref": "shared-model"}]}}

    async def scenario() -> tuple[list[str], list[int], frozenset[str]]:
        async with _controller(ControllerConfig(data=tmp_path, invokers=1)) as (app, url):
            async with _session() as session:
                async with session.put(f"{url}/api/v1/namespaces/_/artifacts/shared-model",
                                       params={"kind": "model"}, data=b"weights") as r:
                    assert r.status == 200, await r.text()
                engine = app[DISPATCHER].placement
                assert not View(engine.state).has_all("cached", ("shared-model",)).any()
                await _invoke(session, url, "uses-model", [consumes])
                await app[REGISTRY].settled()
                async with session.get(
                        f"{url}/api/v1/namespaces/_/artifacts/shared-model@1") as r:
                    doc = await r.json()
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
        async with _controller(config) as (app, url), _session() as session:
            engine = app[DISPATCHER].placement
            await _invoke(session, url, "a")
            warm_a = set(engine.state.warm.get("guest/a@0.0.1", set()))
            await _invoke(session, url, "b")
            await asyncio.sleep(0.2)  # the evicted container's callback runs on the loop
            return (warm_a, set(engine.state.warm.get("guest/a@0.0.1", set())),
                    set(engine.state.warm.get("guest/b@0.0.1", set())))

    warm_a_before, warm_a_after, warm_b = asyncio.run(scenario())
    assert warm_a_before == {0}
    assert warm_a_after == set()
    assert warm_b == {0}
