"""Artifacts through the controller's tunnel, against a real edge-only controller and devices
speaking the protocol over real WebSockets: pulls from the blob store, relays from a peer
(bytes never on the controller's disk), uploads of produced ``cloud`` versions, preloads,
``cached`` reports becoming registry copies, and every bad request refused with its reason
while the connection and the registry stay as they were."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from edgewhisk_tunnel import (
    ArtifactOffer,
    ArtifactPut,
    CloseCode,
    Context,
    Outcome,
    Produced,
    Result,
)
from edgewhisk_tunnel.transfers import Incoming, TransferRefused, Transfers

from controller.api.harness import Controller, started

from .conftest import Lab, run

BASE = b"the base model " * 5000


@pytest.fixture(scope="module")
def controller(data_dir: Path) -> Iterator[Controller]:
    yield from started(data_dir, "--heartbeat-timeout", "5", "--invokers", "0")


async def put_artifact(lab: Lab, name: str, data: bytes | None = None,
                       **query: Any) -> dict[str, Any]:
    status, body = await lab.api.call("PUT", f"artifacts/{name}", params=query,
                                      data=data or b"")
    assert status == 200, body
    return {**body, "_id": f"guest/{body['name']}@{body['version']}"}


async def artifact(lab: Lab, key: str) -> dict[str, Any]:
    status, body = await lab.api.call("GET", f"artifacts/{key}")
    assert status == 200, body
    return dict(body)


async def collect(incoming: Incoming) -> bytes:
    return b"".join([chunk async for chunk in incoming.chunks()])


def blob_log(controller: Controller) -> list[dict[str, Any]]:
    path = controller.data / "blobs-access.log"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


async def eventually(check: Any, what: str) -> Any:
    for _ in range(500):
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.02)
    raise AssertionError(f"never happened: {what}")


def test_a_device_pulls_a_cloud_version_from_the_blob_store(controller: Controller) -> None:
    async def scenario(lab: Lab) -> None:
        doc = await put_artifact(lab, "pull-base", BASE, kind="model")
        device = await lab.connected("pull-1")
        assert device.transfers is not None
        incoming = await device.transfers.fetch(doc["_id"])
        assert (incoming.size, await collect(incoming)) == (len(BASE), BASE)

        async def logged() -> list[dict[str, Any]]:  # written once the blob was read to its end
            return [e for e in blob_log(controller) if e["op"] == "get" and "pull-base" in e["key"]]

        gets = await eventually(logged, "the blob store's access log records the get")
        assert gets[-1]["sha256"] == hashlib.sha256(BASE).hexdigest()

    run(controller, scenario)


def test_refused_pulls_name_the_reason_and_keep_the_connection(controller: Controller) -> None:
    async def scenario(lab: Lab) -> None:
        held = b"readings of u1"
        sha = hashlib.sha256(held).hexdigest()
        token = await lab.api.token("r-own")  # a registration names a device of the namespace
        await put_artifact(lab, "r1/glucose", kind="data", locality="local", held_by="r-own",
                           sha256=sha, size=len(held))
        await put_artifact(lab, "r1/plant", kind="data", locality="network:plant",
                           held_by="r-own", sha256=sha, size=len(held))
        owner = await lab.device("r-own", token, extra={"networks": ("plant",)}).connect()
        owner.blobs.update({"guest/r1/glucose@1": held, "guest/r1/plant@1": held})
        device = await lab.connected("r-other")
        assert device.transfers is not None
        rows = [
            ("guest/nothing@1", "no version 1 of artifact nothing"),
            ("other/r1/glucose@1", "is not in namespace guest of invoker r-other"),
            ("not-a-key", "is not a registry key"),
            ("guest/r1/glucose@1", "artifact r1/glucose@1 is local to its device"),
            ("guest/r1/plant@1", "artifact r1/plant@1 is restricted to network plant"),
        ]
        for ref, words in rows:
            with pytest.raises(TransferRefused, match=words):
                await device.transfers.fetch(ref)
        assert device.is_open and owner.is_open
        assert (await artifact(lab, "r1/glucose@1"))["copies"] == ["r-own"]

    run(controller, scenario)


def test_a_network_artifact_is_relayed_from_a_peer_never_stored(controller: Controller) -> None:
    data = bytes(range(256)) * 4096  # 1 MiB: several chunks through both credits

    async def scenario(lab: Lab) -> None:
        sha = hashlib.sha256(data).hexdigest()
        token = await lab.api.token("relay-a")
        doc = await put_artifact(lab, "relay/model", kind="model", locality="network:lab",
                                 held_by="relay-a", sha256=sha, size=len(data))
        holder = await lab.device("relay-a", token, extra={"networks": ("lab",)}).connect()
        holder.blobs[doc["_id"]] = data
        peer = await lab.connected("relay-b", extra={"networks": ("lab",)})
        assert peer.transfers is not None
        incoming = await peer.transfers.fetch(doc["_id"])
        assert await collect(incoming) == data
        assert not [e for e in blob_log(controller) if "relay" in e["key"]]

    run(controller, scenario)


PRODUCER_NOTE = {"key": "edgewhisk", "value": {
    "version": 1, "consumes": [],
    "produces": [{"kind": "model", "name": "model", "ref": "{usr}/model", "locality": "cloud"}],
    "gates": [], "policies": [{"type": "fn", "node": "up-1", "strict": True}]}}


def test_a_produced_cloud_version_is_uploaded_before_its_result(controller: Controller) -> None:
    weights = b"refined weights " * 1000

    async def scenario(lab: Lab) -> None:
        device = await lab.connected("up-1")
        assert device.transfers is not None
        await lab.api.action("refine-up", "def main(args):\n    return {}\n",
                             annotations=[PRODUCER_NOTE])
        answer = await lab.api.invoke("refine-up", {"usr": "u9"})
        run_message = await device.next_run()
        (produce,) = run_message.produces
        assert (produce.name, produce.locality) == ("model", "cloud")
        assert produce.ref.startswith("guest/u9/model@")
        sha = hashlib.sha256(weights).hexdigest()

        def offer(ref: str) -> ArtifactOffer:
            return ArtifactOffer(Transfers.new_id(), ref, len(weights), sha, "bytes", "model",
                                 "cloud", "upload")

        async def chunks() -> Any:
            yield weights

        with pytest.raises(TransferRefused, match="is not a cloud artifact produced by an "
                                                  "activation running on invoker up-1"):
            await device.transfers.push(offer("guest/u9/other@1"), chunks())
        with pytest.raises(TransferRefused, match="sha256|digest"):
            await device.transfers.push(
                ArtifactOffer(Transfers.new_id(), produce.ref, len(weights), "0" * 64,
                              "bytes", "model", "cloud", "upload"), chunks())
        upload = offer(produce.ref)
        await device.transfers.push(upload, chunks())
        reference = {"artifact": {"kind": "model", "name": "model", "ref": "u9/model",
                                  "format": "bytes", "size": len(weights), "sha256": sha,
                                  "location": "file:///x"}}
        await device.send(Result(run_message.activation_id, outcome=Outcome(
            status=200, response={"model": reference}, logs=(), init_failed=False,
            init_ms=None, duration_ms=3, container_id="test", produced=(Produced(
                "model", "model", produce.ref, "bytes", len(weights), sha, "cloud",
                upload=upload.transfer_id),))))
        record = await lab.api.activation(answer["activationId"])
        assert record["response"]["success"], record
        key = produce.ref.partition("/")[2]
        doc = await artifact(lab, key)
        assert doc["copies"] == ["cloud", "up-1"] and doc["sha256"] == sha
        content = await lab.api.request("GET", f"artifacts/{key}/content")
        assert (content.status_code, content.content) == (200, weights)
        puts = [e for e in blob_log(controller) if e["op"] == "put" and "u9/model" in e["key"]]
        assert [e["sha256"] for e in puts] == [sha]  # the refused uploads left nothing

    run(controller, scenario)


def test_cached_reports_become_registry_copies(controller: Controller) -> None:
    async def scenario(lab: Lab) -> None:
        doc = await put_artifact(lab, "held-base", BASE, kind="model")
        device = await lab.connected("held-1", extra={"cached": (doc["_id"],)})

        async def copies() -> list[str]:
            return list((await artifact(lab, "held-base@1"))["copies"])

        await eventually(lambda: _has(copies, "held-1"), "held-1 in the copies")
        (status,) = [i for i in await lab.api.invokers() if i["id"] == "held-1"]
        assert status["cached"] == [doc["_id"]]
        await device.send(Context(cached=()))
        await eventually(lambda: _lacks(copies, "held-1"), "held-1 out of the copies")
        assert await copies() == ["cloud"]
        await device.send(Context(cached=("guest/no-such@3", "elsewhere/x@1")))
        await device.sync()
        assert device.is_open

    run(controller, scenario)


async def _has(copies: Any, id: str) -> bool:
    return id in await copies()


async def _value(value: Any) -> Any:
    return value


async def _lacks(copies: Any, id: str) -> bool:
    return id not in await copies()


def test_a_preload_pushes_a_cloud_version_and_then_answers_cached(
        controller: Controller) -> None:
    async def scenario(lab: Lab) -> None:
        await put_artifact(lab, "pre-base", BASE, kind="model")
        device = await lab.connected("pre-1", extra={"labels": {"room": "field"}})
        body = {"devices": {"labels": {"room": "field"}}}
        status, answer = await lab.api.call("POST", "artifacts/pre-base/preload", body)
        assert status == 200, answer
        assert answer["devices"] == [{"invoker": "pre-1", "status": "preloaded",
                                      "reason": None}]
        assert device.preloaded["guest/pre-base@1"] == BASE
        status, answer = await lab.api.call("POST", "artifacts/pre-base/preload", body)
        assert answer["devices"][0]["status"] == "cached", answer

    run(controller, scenario)


def test_preloads_of_one_version_at_once_send_it_once(controller: Controller) -> None:
    """Two preloads asked together (a standing policy and a one-shot preload; two
    controllers of a cluster, one through the other) while the version is on its way: one
    transfer, whose outcome both answer. Before, the device was offered the version twice,
    and both were sent."""
    async def scenario(lab: Lab) -> None:
        await put_artifact(lab, "twice-base", BASE, kind="model")
        device = await lab.connected("twice-1", extra={"labels": {"room": "twice"}})
        device.hold = asyncio.Event()  # the first transfer stays open
        body = {"devices": {"labels": {"room": "twice"}}}
        calls = [asyncio.create_task(lab.api.call("POST", "artifacts/twice-base/preload",
                                                  body))]
        await eventually(lambda: _value(device.offers), "the first offer")
        calls.append(asyncio.create_task(lab.api.call("POST", "artifacts/twice-base/preload",
                                                      body)))
        for _ in range(100):  # the second asked: a second offer, or joined the first
            if len(device.offers) > 1:
                break
            await asyncio.sleep(0.02)
        device.hold.set()
        answers = await asyncio.gather(*calls)
        statuses = sorted(answer["devices"][0]["status"] for _, answer in answers)
        assert [status for status, _ in answers] == [200, 200], answers
        assert statuses == ["preloaded", "preloaded"], answers
        assert device.offers == ["guest/twice-base@1"]
        assert device.preloaded["guest/twice-base@1"] == BASE

    run(controller, scenario)


def test_a_chunk_of_a_transfer_never_opened_closes_the_connection(
        controller: Controller) -> None:
    async def scenario(lab: Lab) -> None:
        device = await lab.connected("bad-1")
        await device.send(ArtifactPut("f" * 32, "guest/x@1", 0, 3, b"abc", eof=True,
                                      sha256="0" * 64))
        code, reason = await device.closed()
        assert code == CloseCode.POLICY_VIOLATION
        assert "was not opened" in reason

    run(controller, scenario)
