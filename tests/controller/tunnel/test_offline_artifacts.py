"""Artifacts a device produced cut off, with a device speaking the protocol by hand: registered
when the record syncs (a registry version, ``created_by`` the device-made activation, its
lineage, the device as its copy), exactly once however often the record is sent; the record's
result holds the registry reference; the device's upload of a ``cloud`` one is then accepted
once (the version gains its cloud copy); outputs the action does not declare, under a key not
of this activation, or wider than their inputs, are not registered."""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from typing import Any

import pytest
from edgewhisk_tunnel import (
    ArtifactOffer,
    OfflineRecord,
    OfflineSynced,
    Outcome,
    Produced,
    Verdict,
    provisional_key,
)
from edgewhisk_tunnel.transfers import TransferRefused, Transfers

from controller.api.harness import Controller

from .conftest import Lab, run
from .test_artifacts import artifact, put_artifact
from .test_offline_records import CODE, received

PHOTOS = b"labelled photos " * 100
SHA = hashlib.sha256(PHOTOS).hexdigest()


def note(device: str, produces: list[dict[str, Any]],
         consumes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"key": "edgewhisk", "value": {
        "version": 1, "consumes": consumes or [], "produces": produces, "gates": [],
        "policies": [{"type": "offline", "node": [device]}]}}


def record(aid: str, action: str, *produced: Produced,
           consumed: dict[str, str] | None = None) -> OfflineRecord:
    outcome = Outcome(status=200, response={"photos": {"location": "file:///x"}, "count": 3},
                      logs=(), init_failed=False, init_ms=None, duration_ms=4,
                      container_id="c", produced=produced)
    return OfflineRecord(aid, f"guest/{action}", "0.0.1", 1_000, 1_004, outcome,
                         consumed=consumed or {})


def photos(ref: str, locality: str = "cloud") -> Produced:
    return Produced("photos", "data", ref, "bytes", len(PHOTOS), SHA, locality)


async def upload(device: Any, ref: str, sha: str = SHA) -> None:
    async def chunks() -> Any:
        yield PHOTOS

    await device.transfers.push(ArtifactOffer(Transfers.new_id(), ref, len(PHOTOS), sha,
                                              "bytes", "data", "cloud", "upload"), chunks())


def test_an_artifact_made_offline_is_registered_once_and_uploaded_once(controller: Controller
                                                                      ) -> None:
    async def scenario(lab: Lab) -> None:
        base = await put_artifact(lab, "oa-base", b"weights", kind="model")
        await lab.api.action("oa-capture", CODE, annotations=[note("oa-dev", [
            {"kind": "data", "name": "photos", "ref": "oa-photos/{site}"}],
            [{"kind": "model", "name": "model", "ref": "oa-base"}])])
        device = await lab.connected("oa-dev")
        aid = uuid.uuid4().hex
        made = record(aid, "oa-capture", photos(provisional_key("guest", "oa-photos/s1", aid)),
                      consumed={"model": base["_id"]})
        await device.send(made)
        await device.send(made)                                  # a lost offline.synced
        first, second = await received(device, OfflineSynced, 2)
        key = "guest/oa-photos/s1@1"
        assert first.artifacts == second.artifacts == {made.outcome.produced[0].ref: key}
        doc = await artifact(lab, "oa-photos/s1@1")
        assert (doc["created_by"], doc["copies"], doc["sha256"], doc["locality"]) == (
            aid, ["oa-dev"], SHA, "cloud")
        assert doc["lineage"] == {"model": base["_id"], "data": []}
        status, versions = await lab.api.call("GET", "artifacts/oa-photos/s1/versions")
        assert status == 200 and [v["version"] for v in versions] == [1]   # once
        result = (await lab.api.activation(aid))["response"]["result"]
        assert result["count"] == 3 and result["photos"]["artifact"]["version"] == 1

        with pytest.raises(TransferRefused, match="not its registered content"):
            await upload(device, key, sha="0" * 64)
        await upload(device, key)
        doc = await artifact(lab, "oa-photos/s1@1")
        assert doc["copies"] == ["oa-dev", "cloud"]
        content = await lab.api.request("GET", "artifacts/oa-photos/s1@1/content")
        assert (content.status_code, content.content) == (200, PHOTOS)
        with pytest.raises(TransferRefused, match="holds alone"):
            await upload(device, key)                            # its bytes are there now

    run(controller, scenario)


@pytest.mark.parametrize(("produced", "why"), [
    pytest.param(lambda aid: Produced("notes", "data", provisional_key("guest", "oa-x", aid),
                                      "bytes", 1, SHA, "cloud"),
                 "declares no such output", id="an output the action does not declare"),
    pytest.param(lambda aid: photos(provisional_key("guest", "oa-x", uuid.uuid4().hex)),
                 "not the provisional key", id="a key of another activation"),
    pytest.param(lambda aid: photos("guest/oa-x@7"), "not the provisional key",
                 id="a registry version the device chose itself"),
    pytest.param(lambda aid: photos(provisional_key("guest", "oa-y", aid)),
                 "binds to", id="a name its ref cannot bind to"),
    pytest.param(lambda aid: photos(provisional_key("guest", "oa-x", aid), "network:corp"),
                 "not the declared", id="another locality than declared"),
])
def test_outputs_the_device_had_no_right_to_make_are_not_registered(
        controller: Controller, produced: Any, why: str) -> None:
    device_id = f"oa-bad-{uuid.uuid4().hex[:6]}"

    async def scenario(lab: Lab) -> None:
        await lab.api.action("oa-strict", CODE, annotations=[note(device_id, [
            {"kind": "data", "name": "photos", "ref": "oa-x", "locality": "cloud"}])])
        device = await lab.connected(device_id)
        aid = uuid.uuid4().hex
        await device.send(record(aid, "oa-strict", produced(aid)))
        (synced,) = await received(device, OfflineSynced)
        assert synced.activation_ids == (aid,) and synced.artifacts == {}
        stored = await lab.api.activation(aid)                   # the record itself is kept
        assert stored["response"]["result"]["count"] == 3
        for name in ("oa-x", "oa-y"):
            status, versions = await lab.api.call("GET", f"artifacts/{name}/versions")
            assert (status, versions) == (200, []), (status, versions)
        (line,) = [x for x in controller.log().splitlines()
                   if f"offline record {aid}: output" in x]
        assert why in line, line

    run(controller, scenario)


GATE = {"type": "metric", "target": "photos", "metric": "accuracy", "predicate": "<0.9"}


@pytest.mark.parametrize(("verdicts", "status"), [
    pytest.param((Verdict(0, "metric", "photos", "accuracy", "<0.9", 0.5, True, "reported"),),
                 "gated", id="a firing validator gate: registered gated"),
    pytest.param((Verdict(0, "metric", "photos", "accuracy", "<0.9", 0.95, False, "reported"),),
                 "ok", id="a quiet one: ok"),
    pytest.param((), None, id="no verdict from the device's runtime: nothing registered"),
])
def test_the_gates_judge_what_a_device_made_offline(controller: Controller,
                                                     verdicts: tuple[Verdict, ...],
                                                     status: str | None) -> None:
    device_id = f"oa-gate-{uuid.uuid4().hex[:6]}"
    name = f"oa-gated-{device_id[-6:]}"

    async def scenario(lab: Lab) -> None:
        gated = note(device_id, [{"kind": "data", "name": "photos", "ref": name}])
        gated["value"]["gates"] = [GATE]
        await lab.api.action("oa-gated", CODE, annotations=[gated])
        device = await lab.connected(device_id)
        aid = uuid.uuid4().hex
        made = record(aid, "oa-gated", photos(provisional_key("guest", name, aid)))
        await device.send(dataclasses.replace(made, outcome=dataclasses.replace(
            made.outcome, gates=verdicts)))
        (synced,) = await received(device, OfflineSynced)
        _, versions = await lab.api.call("GET", f"artifacts/{name}/versions")
        response = (await lab.api.activation(aid))["response"]
        if status is None:
            assert synced.artifacts == {} and versions == []
            assert "no verdict came back from invoker" in response["result"]["error"]
        else:
            assert synced.artifacts == {made.outcome.produced[0].ref: f"guest/{name}@1"}
            assert [(v["version"], v["status"]) for v in versions] == [(1, status)]
            assert versions[0]["gates"][0]["fired"] is (status == "gated")

    run(controller, scenario)


def test_an_output_the_registry_refuses_is_not_registered_and_the_record_is_kept(
        controller: Controller) -> None:
    async def scenario(lab: Lab) -> None:
        await put_artifact(lab, "oa-model", b"weights", kind="model")     # a model already
        await lab.api.action("oa-kind", CODE, annotations=[note("oa-kind-dev", [
            {"kind": "data", "name": "photos", "ref": "oa-model"}])])
        device = await lab.connected("oa-kind-dev")
        aid = uuid.uuid4().hex
        await device.send(record(aid, "oa-kind", photos(provisional_key("guest", "oa-model",
                                                                        aid))))
        (synced,) = await received(device, OfflineSynced)
        assert synced.activation_ids == (aid,) and synced.artifacts == {} and device.is_open
        assert (await lab.api.activation(aid))["response"]["result"]["count"] == 3
        _, versions = await lab.api.call("GET", "artifacts/oa-model/versions")
        assert [v["kind"] for v in versions] == ["model"]
        (line,) = [x for x in controller.log().splitlines()
                   if f"offline record {aid}: output" in x]
        assert "a new version cannot be a data" in line, line

    run(controller, scenario)
