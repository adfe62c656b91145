"""Artifacts end to end: real agent processes with node stores against a REAL edge-only
controller. A user's readings are produced on the device and never leave it; a cloud base model
is staged through the tunnel; a refined model stays on the device; a cloud artifact produced
on a device is uploaded before its result; the access logs of the blob store and of each node
store say where every byte went."""

from __future__ import annotations

import hashlib
import json
import signal
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import edgewhisk
import pytest
from controller.api.harness import Client, Controller, create_action

from .harness import AgentProcess

BASE = b"base-weights:" + bytes(range(256)) * 2000

COLLECT = textwrap.dedent("""
    from edgewhisk import produces

    @produces.data("{usr}/glucose", locality="local")
    def main(args):
        return {"glucose": ("5 7 9 " + args["usr"]).encode()}
""")
REFINE = textwrap.dedent("""
    from edgewhisk import consumes, produces

    @consumes.model("glucose-base", name="base")
    @consumes.data("{usr}/glucose", name="readings")
    @produces.model("{usr}/glucose-model", locality="local")
    def main(args, base, readings):
        return {"glucose-model": base.load()[:13] + b"|" + readings.load(),
                "sizes": [len(base.load()), len(readings.load())]}
""")
PUBLISH = textwrap.dedent("""
    from edgewhisk import produces

    @produces.model("shared-model", locality="cloud")
    def main(args):
        return {"shared-model": b"shared weights"}
""")


def annotated(code: str, node: str) -> list[dict[str, Any]]:
    """The edgewhisk annotation of ``code``'s main, placed strictly on ``node``."""
    scope: dict[str, Any] = {}
    exec(code, scope)  # the SDK's decorators record what main consumes and produces
    value = edgewhisk.describe(scope["main"])
    value["policies"] = [*value.get("policies", []), {"type": "fn", "node": node,
                                                       "strict": True}]
    return [{"key": "edgewhisk", "value": value}]


def log(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def controller(tmp_path: Path) -> Iterator[Controller]:
    controller = Controller(tmp_path / "data", "--heartbeat-timeout", "30",
                            "--invokers", "0").start()
    try:
        yield controller
    finally:
        controller.stop()


@pytest.fixture
def devices(controller: Controller, tmp_path: Path) -> Iterator[dict[str, Path]]:
    """Two devices (pi-u1, pi-u2), each with its own node store; their stores' roots."""
    started: list[AgentProcess] = []
    stores = {}
    try:
        with controller.client() as api:
            for id in ("pi-u1", "pi-u2"):
                answer = api.request("POST", "invokers/tokens", json={"id": id})
                assert answer.status_code == 200, answer.text
                stores[id] = tmp_path / f"store-{id}"
                agent = AgentProcess(tmp_path, controller.api_host.replace("http", "ws"),
                                     answer.json()["token"], "--id", id, "--no-battery",
                                     "--memory", "1000000", "--store", str(stores[id]),
                                     "--store-cap", "64MB").start()
                started.append(agent)
                agent.wait_registered()
        yield stores
    finally:
        for agent in started:
            agent.stop(signal.SIGKILL)


def invoke(api: Client, name: str, params: dict[str, Any]) -> dict[str, Any]:
    answer = api.request("POST", f"actions/{name}?blocking=true", json=params)
    assert answer.status_code in (200, 500, 502), answer.text  # 500: a whisk error
    return api.activations.wait(answer.json()["activationId"])


def test_bytes_go_only_where_their_locality_allows(controller: Controller,
                                                   devices: dict[str, Path]) -> None:
    blob_log = controller.data / "blobs-access.log"
    with controller.client() as api:
        put = api.request("PUT", "artifacts/glucose-base?kind=model", data=BASE)
        assert put.status_code == 200, put.text
        for name, code in (("collect", COLLECT), ("refine", REFINE), ("publish", PUBLISH)):
            create_action(api, name, code, annotations=annotated(code, "pi-u1"))

        collected = invoke(api, "collect", {"usr": "u1"})
        assert collected["response"]["success"], collected
        glucose = collected["response"]["result"]["glucose"]["artifact"]
        assert (glucose["key"], glucose["locality"]) == ("guest/u1/glucose@1", "local")
        assert api.request("GET", "artifacts/u1/glucose@1").json()["copies"] == ["pi-u1"]

        refined = invoke(api, "refine", {"usr": "u1"})
        assert refined["response"]["success"], refined
        result = refined["response"]["result"]
        assert result["sizes"] == [len(BASE), len(b"5 7 9 u1")]
        assert result["glucose-model"]["artifact"]["key"] == "guest/u1/glucose-model@1"
        model = api.request("GET", "artifacts/u1/glucose-model@1").json()
        assert model["copies"] == ["pi-u1"]
        assert model["sha256"] == hashlib.sha256(b"base-weights:|5 7 9 u1").hexdigest()
        assert model["lineage"]["data"] == ["guest/u1/glucose@1"]

        published = invoke(api, "publish", {})
        assert published["response"]["success"], published
        shared = api.request("GET", "artifacts/shared-model@1").json()
        assert shared["copies"] == ["cloud", "pi-u1"]
        content = api.request("GET", "artifacts/shared-model@1/content")
        assert (content.status_code, content.content) == (200, b"shared weights")

        # The user's readings and refined model never reached the cloud store or pi-u2.
        assert not [e for e in log(blob_log) if "u1/" in e["key"]]
        assert log(devices["pi-u2"] / "access.log") == []
        ops = {(e["op"], e["key"]) for e in log(devices["pi-u1"] / "access.log")}
        assert {("put", "guest/u1/glucose@1"), ("put", "guest/glucose-base@1"),
                ("put", "guest/u1/glucose-model@1"), ("put", "guest/shared-model@1")} <= ops
        # The base model came from the blob store once, through the tunnel.
        gets = [e for e in log(blob_log) if e["op"] == "get" and e["key"].endswith(
            "glucose-base@1")]
        assert len(gets) == 1

        # Refining again finds the base model in the device's store: no second download.
        again = invoke(api, "refine", {"usr": "u1"})
        assert again["response"]["success"], again
        assert len([e for e in log(blob_log) if e["op"] == "get" and e["key"].endswith(
            "glucose-base@1")]) == 1

        # Consuming u1's local readings on pi-u2 is refused before anything runs.
        create_action(api, "refine-elsewhere", REFINE, annotations=annotated(REFINE, "pi-u2"))
        refused = invoke(api, "refine-elsewhere", {"usr": "u1"})
        assert not refused["response"]["success"]
        assert "is local to its device" in json.dumps(refused["response"]["result"])
        assert log(devices["pi-u2"] / "access.log") == []
