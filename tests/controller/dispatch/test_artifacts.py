"""The dispatcher with an artifact registry, over real local invokers (action proxies as child
processes) that each keep a node store, a SQLite store and a folder blob store.

A small fleet: ``cloud-0`` (the cloud's own pool) and ``u1-phone`` (u1's device, in network
``u1_home``, holding u1's readings, a ``local`` artifact registered by its metadata only). The
base model is a ``cloud`` artifact in the blob store. Activations get their consumes resolved
to registry versions and staged by the invoker, their produces registered with lineage and
referenced in the result; every refusal (unknown artifact, selector with no match, placement
onto a non-member, a produce wider than its inputs, cloud data for a strict data policy) is
the activation's whisk error naming why, and nothing runs or is allocated.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import edgewhisk
import pytest
from edgewhisk_controller.artifacts import ArtifactRegistry, NewArtifact
from edgewhisk_controller.artifacts.registry import NAMES
from edgewhisk_controller.blobs import LocalBlobStore
from edgewhisk_controller.dispatch import Dispatcher
from edgewhisk_controller.invokers import InvokerRegistry, LocalInvoker
from edgewhisk_controller.placement import Engine
from edgewhisk_controller.schema import activation as act
from edgewhisk_controller.stores import NotFound, open_store
from edgewhisk_runtime.artifacts.store import NodeStore
from edgewhisk_runtime.containers import ContainerPool, ProcessBackend

from .conftest import API_HOST, NS, SUBJECT, Env, Run

READINGS = b"u1 readings: 5.4 6.1 7.9"
BASE = b"base weights"
REFINE = '''
from edgewhisk import consumes, produces, policy

@consumes.model(name="base", selector={"type": "classifier", "metrics": {"accuracy": ">=0.8"}})
@consumes.data("{usr}/glucose", name="readings", locality="local")
@produces.model("{usr}/glucose-model", locality="local")
@policy.data(network=["{usr}_home"], strict=True)
def main(args, base, readings):
    model = base.path.read_bytes() + b" refined on " + readings.path.read_bytes()
    return {"glucose-model": model, "usr": args["usr"]}
'''
TRAIN = '''
from edgewhisk import Output, produces

@produces.model("glucose-base", locality="cloud")
def main(args):
    return {"glucose-base": Output(b"better weights", metadata={"type": "classifier"},
                                   metrics={"accuracy": 0.95})}
'''
READ = '''
def main(args, **artifacts):
    return {"read": sorted(artifacts)}
'''


def annotation(**sections: Any) -> dict[str, Any]:
    return edgewhisk.validate({"version": 1, **sections})


REFINE_ANNOTATION = annotation(
    consumes=[{"kind": "model", "name": "base",
               "selector": {"type": "classifier", "metrics": {"accuracy": ">=0.8"}}},
              {"kind": "data", "name": "readings", "ref": "{usr}/glucose", "locality": "local"}],
    produces=[{"kind": "model", "ref": "{usr}/glucose-model", "locality": "local"}],
    policies=[{"type": "data", "network": ["{usr}_home"], "strict": True}])
TRAIN_ANNOTATION = annotation(produces=[{"kind": "model", "ref": "glucose-base",
                                         "locality": "cloud"}])


async def body(data: bytes) -> AsyncIterator[bytes]:
    yield data


@dataclass
class Fleet(Env):
    artifacts: ArtifactRegistry
    stores: dict[str, NodeStore]
    names: list[str] = field(default_factory=list)  # actions deployed so far

    def blob_keys(self) -> list[str]:
        root = Path(self.artifacts.blobs.root) / "data"  # type: ignore[attr-defined]
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())

    def access(self, invoker: str) -> list[tuple[str, str]]:
        log = self.stores[invoker].log
        lines = log.read_text().splitlines() if log.exists() else []
        return [(entry["op"], entry["key"]) for entry in map(json.loads, lines)]


@pytest.fixture
def fleet(tmp_path: Path, run: Run) -> Iterator[Fleet]:
    async def build() -> Fleet:
        store = open_store(tmp_path / "state")
        artifacts = ArtifactRegistry(store, LocalBlobStore(tmp_path / "blobs"), max_size=1 << 20)
        blobs = artifacts.blobs
        invokers, engine = InvokerRegistry(), Engine()
        stores: dict[str, NodeStore] = {}
        members = {"cloud-0": {}, "u1-phone": {"role": "edge", "owner": "u1",
                                               "networks": frozenset({"u1_home"})}}
        for id, attributes in members.items():
            stores[id] = NodeStore(tmp_path / "node-store" / id, capacity_bytes=1 << 20, by=id)
            if id == "u1-phone":  # u1's readings, collected on the device
                await seed_readings(stores[id], artifacts, tmp_path)
            invoker = LocalInvoker(id, ContainerPool(ProcessBackend(), memory_mb=1024),
                                   attributes=attributes, store=stores[id], blobs=blobs)
            invokers.register(invoker)
            engine.register(invoker.state())
        await artifacts.create(NS, NewArtifact(
            name="glucose-base", kind="model", owner=SUBJECT, metrics={"accuracy": 0.9},
            metadata={"type": "classifier"}), body(BASE))
        dispatcher = Dispatcher(store, invokers, engine, api_host=API_HOST,
                                artifacts=artifacts)
        return Fleet(store, invokers, dispatcher, artifacts, stores)

    built = run(build())
    yield built

    async def close() -> None:
        await built.dispatcher.close()
        await built.registry.close()
        await built.artifacts.close()
        await built.store.close()
    run(close())


async def seed_readings(store: NodeStore, artifacts: ArtifactRegistry, tmp: Path) -> None:
    blob = tmp / "readings.bin"
    blob.write_bytes(READINGS)
    sha = hashlib.sha256(READINGS).hexdigest()
    await artifacts.create(NS, NewArtifact(name="u1/glucose", kind="data", owner="u1",
                                           locality="local", sha256=sha, size=len(READINGS),
                                           held_by="u1-phone"))
    await store.add_blob(f"{NS}/u1/glucose@1", blob, sha256=sha, size=len(READINGS),
                         format="bytes", kind="data", locality="local", pinned=True)


def invoke(fleet: Fleet, run: Run, code: str, ann: dict[str, Any],
           params: dict[str, Any]) -> act.ActivationRecord:
    async def go() -> act.ActivationRecord:
        name = f"act{len(fleet.names)}"
        fleet.names.append(name)
        action = await fleet.put_action(name, code, annotations={"edgewhisk": ann})
        invocation = await fleet.dispatcher.invoke(NS, action, params, subject=SUBJECT,
                                                   blocking=True, wait_s=60)
        assert invocation.record is not None
        return invocation.record
    return run(go())


def note(record: act.ActivationRecord, key: str) -> Any:
    return next((a["value"] for a in record["annotations"] if a["key"] == key), None)


def counter(fleet: Fleet, run: Run, name: str) -> int | None:
    try:
        return int(run(fleet.store.get(NAMES, f"{NS}/{name}"))["last"])
    except NotFound:
        return None


def test_refine_runs_on_the_device_and_the_refined_model_stays_there(fleet: Fleet,
                                                                     run: Run) -> None:
    record = invoke(fleet, run, REFINE, REFINE_ANNOTATION, {"usr": "u1"})
    assert record["response"]["success"], record["response"]
    assert note(record, "invoker") == "u1-phone"
    reference = record["response"]["result"]["glucose-model"]["artifact"]
    refined = BASE + b" refined on " + READINGS
    assert reference == {
        "kind": "model", "name": "u1/glucose-model", "ref": "u1/glucose-model", "version": 1,
        "key": "guest/u1/glucose-model@1", "format": "bytes", "size": len(refined),
        "sha256": hashlib.sha256(refined).hexdigest(), "locality": "local",
        "status": "ok", "location": "/api/v1/namespaces/guest/artifacts/u1/glucose-model@1"}
    doc = run(fleet.artifacts.get(NS, "u1/glucose-model", 1))
    assert {k: doc[k] for k in ("copies", "created_by", "owner", "lineage", "locality")} == {
        "copies": ["u1-phone"], "created_by": record["activationId"], "owner": "u1",
        "lineage": {"model": "guest/glucose-base@1", "data": ["guest/u1/glucose@1"]},
        "locality": "local"}
    phone = fleet.stores["u1-phone"]
    assert phone.open_blob("guest/u1/glucose-model@1")[1].read_bytes() == refined
    assert phone.get("guest/u1/glucose-model@1").pinned  # type: ignore[union-attr]
    assert not phone.get("guest/glucose-base@1").pinned  # type: ignore[union-attr]
    assert fleet.blob_keys() == ["guest/glucose-base@1"]  # nothing of u1's reached the cloud
    assert fleet.access("cloud-0") == []
    assert ("put", "guest/u1/glucose-model@1") in fleet.access("u1-phone")
    assert "u1/glucose-model" in fleet.registry.get("u1-phone").state().cached


def test_a_cloud_model_is_trained_into_the_blob_store_and_selected_next(fleet: Fleet,
                                                                        run: Run) -> None:
    record = invoke(fleet, run, TRAIN, TRAIN_ANNOTATION, {})
    assert record["response"]["success"], record["response"]
    doc = run(fleet.artifacts.get(NS, "glucose-base", 2))
    invoker = note(record, "invoker")
    assert doc["copies"] == ["cloud", invoker]
    assert doc["metrics"] == {"accuracy": 0.95} and doc["metadata"] == {"type": "classifier"}
    assert record["response"]["result"]["glucose-base"]["artifact"]["key"] == \
        "guest/glucose-base@2"
    assert fleet.blob_keys() == ["guest/glucose-base@1", "guest/glucose-base@2"]
    refined = invoke(fleet, run, REFINE, REFINE_ANNOTATION, {"usr": "u1"})
    assert refined["response"]["success"], refined["response"]
    assert run(fleet.artifacts.get(NS, "u1/glucose-model"))["lineage"]["model"] == \
        "guest/glucose-base@2"


def consume(name: str, ref: str, kind: str = "data", **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "name": name, "ref": ref, **extra}


@pytest.mark.parametrize("ann, params, words", [
    pytest.param(annotation(consumes=[consume("notes", "{usr}/notes")],
                            produces=[{"kind": "data", "ref": "{usr}/out"}]), {"usr": "u1"},
                 "consumed data 'notes': no artifact u1/notes in namespace 'guest'",
                 id="an unknown artifact"),
    pytest.param(annotation(consumes=[{"kind": "model", "name": "base",
                                       "selector": {"type": "regressor"}}],
                            produces=[{"kind": "data", "ref": "{usr}/out"}]), {"usr": "u1"},
                 "consumed model 'base': no model in namespace 'guest' matches",
                 id="a selector with no match"),
    pytest.param(annotation(consumes=[consume("readings", "{usr}/glucose")],
                            produces=[{"kind": "data", "ref": "{usr}/out",
                                       "locality": "cloud"}]), {"usr": "u1"},
                 "artifact u1/glucose@1 is local to its device; only its metadata leaves it: "
                 "an output may not be wider than its inputs, so u1/out may not be cloud",
                 id="a produce wider than its inputs"),
    pytest.param(annotation(consumes=[consume("line", "line/vibration")],
                            produces=[{"kind": "data", "ref": "{usr}/out"}]), {"usr": "u1"},
                 "artifact line/vibration@1 is restricted to network plant", id="placement "
                 "onto an invoker outside the artifact's network"),
    pytest.param(annotation(consumes=[consume("census", "census")],
                            produces=[{"kind": "data", "ref": "{usr}/out"}],
                            policies=[{"type": "data", "network": ["{usr}_home"],
                                       "strict": True}]), {"usr": "u1"},
                 "a function with a strict policy.data(network=['u1_home']) sees no data from "
                 "outside those networks: data artifact census@1 is cloud",
                 id="cloud data for a strict data policy"),
])
def test_a_refused_activation_records_why_and_nothing_runs_or_is_allocated(
        fleet: Fleet, run: Run, ann: dict[str, Any], params: dict[str, Any],
        words: str) -> None:
    run(fleet.artifacts.create(NS, NewArtifact(
        name="line/vibration", kind="data", owner=SUBJECT, locality="network:plant",
        sha256=hashlib.sha256(b"v").hexdigest(), size=1, held_by="plant-a")))
    run(fleet.artifacts.create(NS, NewArtifact(name="census", kind="data", owner=SUBJECT),
                               body(b"census")))
    record = invoke(fleet, run, READ, ann, params)
    assert record["response"]["statusCode"] == act.WHISK_ERROR
    assert words in record["response"]["result"]["error"]
    assert record["logs"] == [] and note(record, "initTime") is None
    assert counter(fleet, run, "u1/out") is None
    assert all(invoker.pool.in_flight == 0 and not invoker.pool.containers  # type: ignore
               for invoker in fleet.registry)


@pytest.mark.parametrize("strict, words", [
    (False, None),
    (True, "0/2 invokers are available: 1 not matching node cloud-0, 1 without artifact "
           "u1/glucose (artifact u1/glucose@1 is local to its device; only its metadata "
           "leaves it, held by u1-phone)."),
], ids=["a soft preference elsewhere", "a node elsewhere"])
def test_a_local_version_consumed_without_its_locality_is_placed_where_it_is(
        fleet: Fleet, run: Run, strict: bool, words: str | None) -> None:
    """The consumer does not say the readings are ``local`` (the producer did): placement
    still chooses among the invokers holding them (``dispatch/artifacts.rekeyed``), over a
    soft preference for another node; before, a score elsewhere could outweigh theirs, and
    the activation was refused after placement ("... and the activation was placed on
    invoker cloud-0"). Pinned to an invoker without them, it is unschedulable, and the
    reason names the rule and the holder."""
    ann = annotation(consumes=[consume("readings", "{usr}/glucose")],
                     policies=[{"type": "fn", "node": "cloud-0", "strict": strict}])
    record = invoke(fleet, run, READ, ann, {"usr": "u1"})
    if words is None:
        assert record["response"]["success"], record["response"]
        assert note(record, "invoker") == "u1-phone"
    else:
        assert record["response"]["statusCode"] == act.WHISK_ERROR
        assert record["response"]["result"]["error"] == words
