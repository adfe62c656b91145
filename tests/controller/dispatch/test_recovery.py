"""Start-up recovery (``dispatch/recovery.py``) on every store backend: what a killed
controller accepted and never recorded is re-run under its id when that cannot do harm, and
recorded as OpenWhisk's whisk internal error "The controller restarted while the activation was
running." otherwise; a document whose record exists is only dropped. Accepted documents are
written as a previous run left them; a fresh dispatcher recovers them, as at start-up.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from edgewhisk_controller.dispatch import Dispatcher, recover
from edgewhisk_controller.invokers import InvokerRegistry, LocalInvoker
from edgewhisk_controller.placement import Engine
from edgewhisk_controller.schema import activation as act
from edgewhisk_controller.stores import open_store
from edgewhisk_runtime.containers import ContainerPool, ProcessBackend

from .conftest import API_HOST, NS, SUBJECT, Env, Run

CODE = "def main(args):\n    return {'n': args.get('n')}\n"
RESTARTED = {"error": "The controller restarted while the activation was running."}


@pytest.fixture(params=["sqlite", "couchdb"])
def env(request: pytest.FixtureRequest, tmp_path: Path, run: Run) -> Iterator[Env]:
    """A dispatcher with one local invoker on a fresh store of each backend."""
    prefix = f"r{uuid.uuid4().hex[:12]}_"
    if request.param == "sqlite":
        location = str(tmp_path / "data")
    else:
        location = f"{request.getfixturevalue('couchdb_server').url}/?prefix={prefix}"
    store = open_store(location)
    registry = InvokerRegistry()
    registry.register(LocalInvoker("local0", ContainerPool(ProcessBackend(), memory_mb=1024)))
    engine = Engine()
    engine.register(registry.get("local0").state())
    built = Env(store, registry, Dispatcher(store, registry, engine, api_host=API_HOST))
    yield built
    run(built.dispatcher.close(grace_s=0))
    run(registry.close())
    run(store.close())
    if request.param == "couchdb":
        request.getfixturevalue("couchdb_server").drop_databases(prefix)


def _accepted(name: str, *, version: str = "0.0.1", **extra: Any) -> dict[str, Any]:
    activation_id = act.new_activation_id()
    doc = act.accepted(namespace=NS, name=name, path=f"/{NS}/{name}", version=version,
                       subject=SUBJECT,
                       activation_id=activation_id, start=int(time.time() * 1000) - 1000,
                       payload={"n": 7}, blocking=False, api_key=False, composition=False,
                       cause=None)
    return {"_id": activation_id, **doc, **extra}


CASES = [
    pytest.param({"idempotent": True}, {}, True, id="an idempotent action runs again"),
    pytest.param({}, {}, False, id="a non-idempotent one is recorded as failed"),
    pytest.param({"idempotent": True}, {"version": "0.0.9"}, False,
                 id="an idempotent action changed since is recorded as failed"),
    pytest.param({"idempotent": True, "provide-api-key": True}, {"api_key": True}, False,
                 id="an idempotent action that was given the caller's key is recorded as failed"),
    pytest.param({"idempotent": True}, {"composition": True, "cause": "c" * 32}, False,
                 id="a component of a composition is left to its composition"),
]


@pytest.mark.parametrize("annotations, accepted, reran", CASES)
def test_an_accepted_activation_is_run_again_or_recorded_as_failed(
        env: Env, run: Run, annotations: dict[str, Any], accepted: dict[str, Any],
        reran: bool) -> None:
    async def scenario() -> tuple[Any, dict[str, Any], int]:
        await env.put_action("a", CODE, annotations=annotations)
        doc = _accepted("a", **accepted)
        await env.store.put(act.ACCEPTED, doc)
        done = await recover(env.dispatcher)
        record = await env.record(doc["_id"])
        await env.dispatcher.close()
        return done, record, await env.store.count(act.ACCEPTED)

    done, record, left = run(scenario())
    assert (done.redispatched, done.failed) == ((1, 0) if reran else (0, 1))
    assert left == 0
    assert record["name"] == "a" and record["subject"] == SUBJECT
    assert record.get("cause") == accepted.get("cause")
    if reran:
        assert record["response"]["result"] == {"n": 7}, record
    else:
        assert record["response"] == {"status": "whisk internal error", "statusCode": 3,
                                      "success": False, "result": RESTARTED}
        assert [a["key"] for a in record["annotations"]] == [
            "limits", "path", "kind", "timeout", *(["causedBy"] if accepted.get("composition")
                                                   else []), "waitTime"]


def test_an_accepted_activation_of_an_action_in_a_package_runs_again_as_invoked(
        env: Env, run: Run) -> None:
    """Recovery resolves the name the invoke resolved (``/ns/pkg/name``): the action in its
    package, with the parameters the package gives it."""
    async def scenario() -> dict[str, Any]:
        await env.store.put("packages", {
            "_id": f"{NS}/tools", "namespace": NS, "name": "tools", "publish": False,
            "parameters": [{"key": "greeting", "value": "hi"}], "annotations": []})
        echo = "def main(args):\n    return args\n"
        await env.put_action("a", echo, annotations={"idempotent": True}, ns=f"{NS}/tools")
        doc = _accepted("a", path=f"/{NS}/tools/a")
        await env.store.put(act.ACCEPTED, doc)
        done = await recover(env.dispatcher)
        assert done.redispatched == 1, done
        return await env.record(doc["_id"])

    record = run(scenario())
    assert record["response"]["result"] == {"greeting": "hi", "n": 7}, record
    assert {"key": "path", "value": f"{NS}/tools/a"} in record["annotations"]


def test_an_accepted_activation_of_a_deleted_action_is_recorded_as_failed(
        env: Env, run: Run) -> None:
    async def scenario() -> dict[str, Any]:
        doc = _accepted("gone")
        await env.store.put(act.ACCEPTED, doc)
        await recover(env.dispatcher)
        return await env.record(doc["_id"])

    record = run(scenario())
    assert record["response"]["result"] == RESTARTED and record["version"] == "0.0.1"


def test_a_document_whose_record_exists_is_only_dropped(env: Env, run: Run) -> None:
    async def scenario() -> tuple[Any, dict[str, Any], dict[str, Any], int]:
        action = await env.put_action("a", CODE, annotations={"idempotent": True})
        inv = await env.dispatcher.invoke(NS, action, {"n": 1}, subject=SUBJECT, blocking=True,
                                          wait_s=60)
        doc = _accepted("a")
        doc["_id"] = doc["activationId"] = inv.activation_id
        await env.store.put(act.ACCEPTED, doc)  # as a crash between CouchDB's two requests
        done = await recover(env.dispatcher)
        return done, inv.record, await env.record(inv.activation_id), \
            await env.store.count(act.ACCEPTED)

    done, answered, stored, left = run(scenario())
    assert (done.stale, done.redispatched, done.failed) == (1, 0, 0)
    assert act.from_doc(stored) == answered and left == 0
