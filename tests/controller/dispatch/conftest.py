"""Fixtures for the dispatcher tests: a real SQLite store and real local invokers.

Each test gets a fresh event loop (fixture ``run``) and builds its controller side with
``make_env``: a store in the test's temporary folder, LocalInvokers over ContainerPools with
the process backend (real action proxies as child processes), and a Dispatcher. Teardown closes
the dispatcher, destroys every container and closes the store.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from edgewhisk_controller.dispatch import Dispatcher
from edgewhisk_controller.invokers import InvokerRegistry, LocalInvoker
from edgewhisk_controller.placement import Engine
from edgewhisk_controller.schema import activation as act
from edgewhisk_controller.stores import NotFound, Store, open_store
from edgewhisk_runtime.containers import ContainerPool, ProcessBackend

NS = "guest"
SUBJECT = "guest"
API_HOST = "http://127.0.0.1:3233"
API_KEY = (  # OpenWhisk's well-known guest key
    "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:"
    "123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"
)
RECORD_WAIT_S = 120.0  # a bound for "the record lands", not a performance expectation

Run = Callable[[Awaitable[Any]], Any]


@pytest.fixture
def run() -> Iterator[Run]:
    loop = asyncio.new_event_loop()
    yield loop.run_until_complete
    loop.close()


@dataclass
class Env:
    store: Store
    registry: InvokerRegistry
    dispatcher: Dispatcher

    async def put_action(
        self,
        name: str,
        code: str,
        *,
        kind: str = "python:3",
        annotations: dict[str, Any] | None = None,
        parameters: dict[str, Any] | None = None,
        limits: dict[str, int] | None = None,
        ns: str = NS,
    ) -> dict[str, Any]:
        """Store an action document shaped as the API writes it; return it."""
        doc = {
            "_id": f"{ns}/{name}",
            "namespace": ns,
            "name": name,
            "version": "0.0.1",
            "exec": {"kind": kind, "code": code, "binary": False, "main": "main"},
            "parameters": [{"key": k, "value": v} for k, v in (parameters or {}).items()],
            "annotations": [{"key": k, "value": v} for k, v in
                            {"exec": kind.split(":")[0], "provide-api-key": False,
                             **(annotations or {})}.items()],
            "limits": {"timeout": 60_000, "memory": 256, "logs": 10, "concurrency": 1,
                       **(limits or {})},
            "publish": False,
            "updated": int(time.time() * 1000),
        }
        doc["_rev"] = await self.store.put("actions", doc)
        return doc

    async def record(self, activation_id: str) -> act.ActivationRecord:
        """The stored record, waiting (bounded) until the activation has been recorded."""
        deadline = time.monotonic() + RECORD_WAIT_S
        while True:
            try:
                return act.from_doc(await self.store.get(act.COLLECTION, activation_id))
            except NotFound:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.05)

    async def count(self) -> int:
        """Records stored, once those of the activations answered so far are (as the API)."""
        await self.dispatcher.written()
        return await self.store.count(act.COLLECTION)


@pytest.fixture
def make_env(tmp_path: Path, run: Run) -> Iterator[Callable[..., Env]]:
    """``make_env({"invoker-id": memory_mb, ...}, kinds=None, durable=True)`` -> Env (one local
    invoker each; ``durable=False``: records written behind the answers)."""
    envs: list[Env] = []

    def make(invokers: dict[str, int] | None = None, kinds: set[str] | None = None, *,
             durable: bool = True) -> Env:
        async def build() -> Env:
            store = open_store(tmp_path / f"data{len(envs)}")
            registry = InvokerRegistry()
            engine = Engine()
            for id, memory in (invokers if invokers is not None else {"local-0": 1024}).items():
                pool = ContainerPool(ProcessBackend(), memory_mb=memory)
                registry.register(LocalInvoker(id, pool, kinds))
                engine.register(registry.get(id).state())
            return Env(store, registry, Dispatcher(store, registry, engine,
                                                   api_host=API_HOST, durable=durable))
        env = run(build())
        envs.append(env)
        return env

    yield make
    for env in envs:
        run(env.dispatcher.close(grace_s=0))
        run(env.registry.close())
        run(env.store.close())
