"""The dispatcher binds an action's variables at invoke, and fans an unbound {usr} out.

A small fleet on the placement engine: one device per user (owned local invokers, real
action proxies as child processes) and a shared cloud invoker; u3's device lacks the action's
kind, so u3 has no feasible device. The action reads the user's readings (``{usr}/glucose``)
and must run on the user's own device (``policy.fn(node="{usr}_device", strict=True)``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from edgewhisk_controller.dispatch import Dispatcher
from edgewhisk_controller.invokers import InvokerRegistry, LocalInvoker
from edgewhisk_controller.placement import Engine, InvokerState
from edgewhisk_controller.preprocess import UnboundVariable
from edgewhisk_controller.schema import activation as act
from edgewhisk_controller.stores import open_store
from edgewhisk_runtime.containers import ContainerPool, ProcessBackend

from .conftest import API_HOST, NS, SUBJECT, Env, Run

CODE = '''
from edgewhisk import consumes, policy

@consumes.data("{usr}/glucose", name="readings")
@policy.fn(node="{usr}_device", strict=True)
def main(args, readings):
    return {"user": args["usr"], "readings": readings.open().read().decode()}
'''
ANNOTATION = {
    "version": 1,
    "consumes": [{"kind": "data", "name": "readings", "ref": "{usr}/glucose"}],
    "policies": [{"type": "fn", "node": "{usr}_device", "strict": True}],
}
DEVICES = {"dev-u1": ("u1", "python:3"), "dev-u2": ("u2", "python:3"),
           "dev-u3": ("u3", "nodejs:default")}


class OwnedInvoker(LocalInvoker):
    """A local invoker standing in for a user's device: it reports an owner and role edge."""

    def __init__(self, id: str, pool: ContainerPool, kind: str, owner: str | None) -> None:
        super().__init__(id, pool, [kind])
        self.owner = owner

    def state(self) -> InvokerState:
        role = "cloud" if self.owner is None else "edge"
        return dataclasses.replace(super().state(), owner=self.owner, role=role)


@pytest.fixture
def env(tmp_path: Path, run: Run) -> Iterator[Env]:
    artifacts = tmp_path / "artifacts"
    for user in ("u1", "u2", "u3"):  # the namespace's own folder of the runtimes' --artifacts
        (artifacts / NS / user).mkdir(parents=True)
        (artifacts / NS / user / "glucose").write_text(f"readings of {user}")

    async def build() -> Env:
        store = open_store(tmp_path / "data")
        registry, engine = InvokerRegistry(), Engine()
        fleet = {**DEVICES, "cloud-0": (None, "python:3")}
        for id, (owner, kind) in fleet.items():
            pool = ContainerPool(ProcessBackend(artifacts=artifacts), memory_mb=1024)
            invoker = OwnedInvoker(id, pool, kind, owner)
            registry.register(invoker)
            engine.register(invoker.state())
        return Env(store, registry, Dispatcher(store, registry, engine, api_host=API_HOST))

    built = run(build())
    yield built

    async def close() -> None:
        await built.dispatcher.close()
        await built.registry.close()
        await built.store.close()
    run(close())


def invoke(env: Env, run: Run, params: dict[str, Any], *, blocking: bool = True) -> Any:
    async def go() -> Any:
        action = await env.put_action("readings", CODE, annotations={"edgewhisk": ANNOTATION})
        return await env.dispatcher.invoke(NS, action, params, subject=SUBJECT,
                                           blocking=blocking, wait_s=60)
    return run(go())


def annotation(record: act.ActivationRecord, key: str) -> Any:
    return next((a["value"] for a in record["annotations"] if a["key"] == key), None)


def test_a_bound_user_runs_on_that_users_device(env: Env, run: Run) -> None:
    invocation = invoke(env, run, {"usr": "u2"})
    assert invocation.fanout is None and invocation.record is not None
    assert invocation.record["response"]["result"] == {"user": "u2",
                                                       "readings": "readings of u2"}
    assert annotation(invocation.record, "invoker") == "dev-u2"


def test_an_unbound_usr_fans_out_to_each_user_with_a_feasible_device(env: Env,
                                                                     run: Run) -> None:
    invocation = invoke(env, run, {})
    fanout = invocation.fanout
    assert [(a["user"], a["invoker"]) for a in fanout["activations"]] == [
        ("u1", "dev-u1"), ("u2", "dev-u2")]
    assert fanout["users"] == 3 and fanout["excluded"]["count"] == 1
    assert "0/4 invokers are available" in fanout["excluded"]["users"]["u3"]
    for entry in fanout["activations"]:  # blocking: each finished child's response
        assert entry["response"]["result"] == {"user": entry["user"],
                                               "readings": f"readings of {entry['user']}"}
    parent = invocation.record
    assert parent["activationId"] == invocation.activation_id
    assert parent["response"]["success"] and annotation(parent, "fanout") == 2
    assert parent["logs"] == [f"u3: {fanout['excluded']['users']['u3']}"]
    stored = run(env.record(invocation.activation_id))
    assert stored["response"]["result"]["fanout"]["users"] == 3
    for entry in fanout["activations"]:
        child = run(env.record(entry["activationId"]))
        assert child["cause"] == invocation.activation_id
        assert annotation(child, "invoker") == entry["invoker"]


def test_a_non_blocking_fan_out_answers_at_once_with_every_child_id(env: Env,
                                                                    run: Run) -> None:
    invocation = invoke(env, run, {}, blocking=False)
    assert invocation.record is None
    ids = [a["activationId"] for a in invocation.fanout["activations"]]
    assert len(ids) == 2 and all("response" not in a for a in invocation.fanout["activations"])
    children = [run(env.record(id)) for id in ids]
    assert sorted(c["response"]["result"]["user"] for c in children) == ["u1", "u2"]


def test_a_user_without_a_feasible_device_is_unschedulable_when_bound(env: Env,
                                                                      run: Run) -> None:
    record = invoke(env, run, {"usr": "u3"}).record
    assert record["response"]["statusCode"] == act.WHISK_ERROR
    assert "0/4 invokers are available" in record["response"]["result"]["error"]


def test_a_value_that_cannot_be_a_ref_segment_is_a_400_before_anything_runs(
        env: Env, run: Run) -> None:
    with pytest.raises(UnboundVariable) as caught:
        invoke(env, run, {"usr": "../u1"})
    assert caught.value.status == 400 and caught.value.variable == "usr"
    assert run(env.count()) == 0


def test_a_fan_out_with_nobody_on_record_records_why(tmp_path: Path, run: Run) -> None:
    async def go() -> tuple[Any, Any]:
        store = open_store(tmp_path / "empty")
        registry = InvokerRegistry()
        dispatcher = Dispatcher(store, registry, Engine(), api_host=API_HOST)
        try:
            env = Env(store, registry, dispatcher)
            action = await env.put_action("readings", CODE,
                                          annotations={"edgewhisk": ANNOTATION})
            invocation = await dispatcher.invoke(NS, action, {}, subject=SUBJECT,
                                                 blocking=True, wait_s=5)
            return invocation, await env.count()
        finally:
            await dispatcher.close()
            await store.close()
    invocation, count = run(go())
    assert count == 1  # the parent only
    assert invocation.fanout["activations"] == [] and invocation.fanout["users"] == 0
    assert "no user on record" in invocation.record["response"]["result"]["error"]
