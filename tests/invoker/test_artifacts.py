"""A real agent process with ``--store``: runs stage consumed artifacts through the tunnel
(cached after the first pull), keep produced ones in the node store, upload ``cloud`` ones
before the result, report ``context.cached``; the controller side pulls, preloads, and every
bad input is refused with a clear reason and changes nothing."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from edgewhisk_tunnel import (
    ArtifactGet,
    ArtifactOffer,
    Consumed,
    Context,
    Produce,
    Register,
    Result,
    Run,
)
from edgewhisk_tunnel.transfers import TransferRefused, Transfers

from .harness import AgentProcess
from .test_agent import run_message
from .tunnel_server import TunnelServer

CODE = """
from edgewhisk import consumes, produces

@consumes.data("{usr}/glucose", name="readings")
@produces.data("{usr}/summary")
@produces.model("{usr}/model")
def main(args, readings):
    values = [int(v) for v in readings.load().decode().split()]
    return {"count": len(values), "summary": {"total": sum(values)},
            "model": b"weights:" + str(sum(values)).encode()}
"""
READINGS = b"5 7 9"
KEY = "guest/u1/glucose@1"


def consumed(data: bytes = READINGS, key: str = KEY) -> Consumed:
    return Consumed("readings", "data", key, hashlib.sha256(data).hexdigest(), len(data),
                    "bytes", "local")


def artifact_run(aid: str, *, consumes: tuple[Consumed, ...] | None = None,
                 version: int = 1) -> Run:
    produces = (Produce("summary", "data", f"guest/u1/summary@{version}", "local"),
                Produce("model", "model", f"guest/u1/model@{version}", "cloud"))
    return dataclasses.replace(run_message(aid, CODE, {"usr": "u1"}, name="refine"),
                               consumes=(consumed(),) if consumes is None else consumes,
                               produces=produces)


def result_of(server: TunnelServer, aid: str) -> Result:
    result: Result = server.wait_message(Result, lambda m: m.activation_id == aid,
                                         timeout=120)
    return result


def cached(server: TunnelServer) -> set[str]:
    reports = [m.cached for m in server.messages(Context) if m.cached is not None]
    return set(reports[-1]) if reports else set()


def log_ops(store: Path) -> list[tuple[str, str]]:
    lines = (store / "access.log").read_text().splitlines()
    return [(entry["op"], entry["key"]) for entry in map(json.loads, lines)]


@pytest.fixture
def server() -> Iterator[TunnelServer]:
    server = TunnelServer().start()
    server.blobs[KEY] = READINGS
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def agent(server: TunnelServer, store: Path, tmp_path: Path) -> Iterator[AgentProcess]:
    process = AgentProcess(tmp_path, server.url, server.token, "--id", "pi-u1", "--no-battery",
                           "--store", str(store), "--store-cap", "10MB").start()
    process.wait_registered()
    try:
        yield process
    finally:
        process.stop(signal.SIGKILL)


def test_a_run_stages_keeps_uploads_and_reports_its_artifacts(
        server: TunnelServer, agent: AgentProcess, store: Path) -> None:
    server.send(artifact_run("a1"))
    result = result_of(server, "a1")
    assert result.outcome is not None, result.error
    response = result.outcome.response
    assert response["count"] == 3
    assert response["summary"]["artifact"]["ref"] == "u1/summary"
    produced = {p.name: p for p in result.outcome.produced}
    assert produced["summary"].ref == "guest/u1/summary@1"
    assert produced["summary"].locality == "local" and produced["summary"].upload is None
    summary = json.dumps({"total": 21}).encode()
    assert produced["model"].upload is not None  # the cloud one went up before the result
    assert server.uploads["guest/u1/model@1"] == b"weights:21"
    assert produced["model"].sha256 == hashlib.sha256(b"weights:21").hexdigest()
    assert [g.ref for g in server.messages(ArtifactGet) if g.offset == 0] == [KEY]
    expected = {KEY, "guest/u1/summary@1", "guest/u1/model@1"}
    server.wait(lambda s: cached(s) == expected, "context.cached with all three")
    assert ("put", KEY) in log_ops(store)
    assert hashlib.sha256(summary).hexdigest() == produced["summary"].sha256

    # A second run finds its input in the store: no pull.
    server.send(artifact_run("a2", version=2))
    assert result_of(server, "a2").outcome is not None
    assert [g.ref for g in server.messages(ArtifactGet) if g.offset == 0] == [KEY]

    # The controller may pull the cloud artifact; a local one never leaves the device.
    assert server.pull("guest/u1/model@1") == b"weights:21"
    with pytest.raises(TransferRefused, match="artifact u1/summary@1 is local to its device"):
        server.pull("guest/u1/summary@1")
    with pytest.raises(TransferRefused, match="artifact guest/x@1 is not on invoker pi-u1"):
        server.pull("guest/x@1")


def test_the_store_survives_a_restart_and_is_registered(server: TunnelServer, store: Path,
                                                        tmp_path: Path) -> None:
    first = AgentProcess(tmp_path, server.url, server.token, "--id", "pi-u1", "--no-battery",
                         "--store", str(store)).start()
    try:
        first.wait_registered()
        server.send(artifact_run("a1"))
        assert result_of(server, "a1").outcome is not None
    finally:
        assert first.stop(signal.SIGTERM) == 0
    again = AgentProcess(tmp_path, server.url, server.token, "--id", "pi-u1", "--no-battery",
                         "--store", str(store)).start()
    try:
        again.wait_registered()
        register = server.wait_message(Register, connection=2)
        assert {KEY, "guest/u1/summary@1", "guest/u1/model@1"} <= set(register.cached)
    finally:
        again.stop(signal.SIGKILL)


def test_a_preload_is_kept_as_a_cache_and_a_second_one_answers_cached(
        server: TunnelServer, agent: AgentProcess, store: Path) -> None:
    data = b"base model bytes" * 1000
    offer = ArtifactOffer(Transfers.new_id(), "guest/glucose-base@4", len(data),
                          hashlib.sha256(data).hexdigest(), "bytes", "model", "cloud",
                          "preload")
    server.push(offer, data)
    server.wait(lambda s: "guest/glucose-base@4" in cached(s), "the preload reported")
    assert ("put", "guest/glucose-base@4") in log_ops(store)
    with pytest.raises(TransferRefused, match="^cached: invoker pi-u1 holds"):
        server.push(dataclasses.replace(offer, transfer_id=Transfers.new_id()), data)


@pytest.mark.parametrize("case, words", [
    ("wrong sha256", "sha256"),
    ("too big for the store", "exceeds the store of invoker pi-u1"),
    ("an upload offered to a device", "accepts preloads only"),
], ids=["a preload whose bytes do not match is refused",
        "a preload larger than the store is refused before any byte",
        "a device refuses an upload offer"])
def test_bad_preloads_change_nothing(case: str, words: str, server: TunnelServer,
                                     agent: AgentProcess, store: Path) -> None:
    data = b"x" * 1000
    size = 20 * 1024 * 1024 if case == "too big for the store" else len(data)
    offer = ArtifactOffer(Transfers.new_id(), "guest/m@1", size,
                          "0" * 64 if case == "wrong sha256" else hashlib.sha256(data).hexdigest(),
                          "bytes", "model", "cloud",
                          "upload" if case == "an upload offered to a device" else "preload")
    before = sorted(p.name for p in (store / "blobs").iterdir())
    with pytest.raises(Exception, match=words):
        server.push(offer, data)
    assert sorted(p.name for p in (store / "blobs").iterdir()) == before
    assert "guest/m@1" not in cached(server)


@pytest.mark.parametrize("case, words", [
    ("refused", ["could not stage", "locality local: refused for the test"]),
    ("unknown", ["could not stage", "artifact guest/u1/glucose@1 is not in the test server"]),
    ("wrong sha256", ["could not stage", "sha256"]),
], ids=["a refusal by the controller fails the run naming the reason",
        "an artifact the controller lacks fails the run naming it",
        "bytes that do not match their digest fail the run and are not kept"])
def test_staging_failures_are_whisk_errors_and_keep_nothing(
        case: str, words: list[str], server: TunnelServer, agent: AgentProcess,
        store: Path) -> None:
    if case == "refused":
        server.refuse[KEY] = "locality local: refused for the test"
    elif case == "unknown":
        del server.blobs[KEY]
    else:
        server.lie.add(KEY)
    server.send(artifact_run("b1"))
    result = result_of(server, "b1")
    assert result.error is not None and all(w in result.error for w in words), result.error
    assert "pi-u1" in result.error
    assert not (store / "access.log").exists() or ("put", KEY) not in log_ops(store)
    assert KEY not in cached(server)


def test_an_agent_without_a_store_refuses_artifact_runs(server: TunnelServer,
                                                        tmp_path: Path) -> None:
    process = AgentProcess(tmp_path, server.url, server.token, "--id", "pi-2",
                           "--no-battery").start()
    try:
        process.wait_registered()
        server.send(artifact_run("c1"))
        result = result_of(server, "c1")
        assert result.error is not None and "has no artifact store" in result.error
        assert "--store DIR" in result.error
    finally:
        process.stop(signal.SIGKILL)
