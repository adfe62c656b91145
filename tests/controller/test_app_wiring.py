"""How ``create_app`` wires the parts: what one part observes reaches the part that decides.

Real aiohttp server in process, real local invoker with the ``process`` backend (runtime proxies
as child processes), real SQLite store under ``tmp_path``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
from aiohttp import web
from edgewhisk_controller.app import create_app
from edgewhisk_controller.auth import GUEST_KEY
from edgewhisk_controller.config import ControllerConfig
from edgewhisk_controller.keys import DISPATCHER

CODE = "def main(args):\n    return {'ok': True}\n"


async def _invoke(session: aiohttp.ClientSession, url: str, name: str) -> None:
    action = {"exec": {"kind": "python:3", "code": CODE}, "limits": {"memory": 256}}
    async with session.put(f"{url}/api/v1/namespaces/_/actions/{name}", json=action) as r:
        assert r.status == 200, await r.text()
    async with session.post(f"{url}/api/v1/namespaces/_/actions/{name}?blocking=true") as r:
        assert r.status == 200, await r.text()


def test_a_container_the_local_pool_evicts_is_no_longer_warm_for_placement(
        tmp_path: Path) -> None:
    """The pool has room for one 256 MB container: running b evicts a's warm container, and the
    placement engine must stop counting a as warm there (else WarmContainer misleads it)."""

    async def scenario() -> tuple[set[int], set[int], set[int]]:
        config = ControllerConfig(data=tmp_path, invokers=1, invoker_memory_mb=256)
        app = create_app(config)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        url = f"http://127.0.0.1:{port}"
        headers = {"Authorization": aiohttp.encode_basic_auth(*GUEST_KEY.split(":", 1))}
        try:
            async with aiohttp.ClientSession(headers=headers) as session:
                engine = app[DISPATCHER].placement
                await _invoke(session, url, "a")
                warm_a = set(engine.state.warm.get("guest/a@0.0.1", set()))
                await _invoke(session, url, "b")
                await asyncio.sleep(0.2)  # the evicted container's callback runs on the loop
                return (warm_a, set(engine.state.warm.get("guest/a@0.0.1", set())),
                        set(engine.state.warm.get("guest/b@0.0.1", set())))
        finally:
            await runner.cleanup()

    warm_a_before, warm_a_after, warm_b = asyncio.run(scenario())
    assert warm_a_before == {0}
    assert warm_a_after == set()
    assert warm_b == {0}
