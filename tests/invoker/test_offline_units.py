"""The agent's offline pieces on their own: the durable state (across a reopen, as after an agent
restart), the local runner's refusals (each names what is missing) and waits, the networks file."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import pytest
from edgewhisk_invoker.artifacts import DeviceArtifacts
from edgewhisk_invoker.config import AgentConfig
from edgewhisk_invoker.exceptions import BadRequest, Unavailable
from edgewhisk_invoker.local_run import LocalRunner
from edgewhisk_invoker.network_file import read_networks
from edgewhisk_invoker.offline_state import OfflineState, Waiting, new_activation_id
from edgewhisk_runtime.artifacts.store import NodeStore
from edgewhisk_tunnel import OfflineAction, OfflineRecord, Outcome, RunSpec

SPEC = RunSpec(key="guest/a@0.0.1#d", kind="python:3", code="def main(a): return a",
               binary=False, main="main", image=None, env={}, memory_mb=128,
               timeout_ms=1000, concurrency=1)
OUTCOME = Outcome(status=200, response={}, logs=(), init_failed=False, init_ms=None,
                  duration_ms=1, container_id="c")
DEVICE = "tablet-1"


def copy(name: str = "guest/a", **annotation: Any) -> OfflineAction:
    doc = {"version": 1, "consumes": [], "produces": [], "gates": [],
           "policies": [{"type": "offline"}], **annotation}
    return OfflineAction(name=name, version="0.0.1", spec=SPEC, annotation=doc,
                         parameters={"k": 1})


def test_the_state_survives_a_reopen_and_forgets_only_what_was_confirmed(tmp_path: Path) -> None:
    state = OfflineState(tmp_path)
    state.keep_action(copy("guest/a"))
    state.keep_action(copy("guest/b"))
    ids = [new_activation_id() for _ in range(3)]
    for aid in ids:
        state.add_record(OfflineRecord(aid, "guest/a", "0.0.1", 1, 2, OUTCOME))
    state.add_waiting(Waiting(ids[0], "corp", "guest/a", {"x": 1}, 5))
    state.close()

    again = OfflineState(tmp_path)
    assert again.action_names() == ["guest/a", "guest/b"]
    assert [r.activation_id for r in again.records()] == ids          # oldest first
    assert again.waiting() == [Waiting(ids[0], "corp", "guest/a", {"x": 1}, 5)]
    again.synced((ids[1],))
    assert [r.activation_id for r in again.records()] == [ids[0], ids[2]]
    assert again.keep_only(("guest/b",)) == ["guest/a"] and again.action("guest/a") is None
    again.close()


def test_device_made_ids_have_openwhisks_shape_and_do_not_repeat() -> None:
    ids = {new_activation_id() for _ in range(10_000)}
    assert len(ids) == 10_000
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


@pytest.fixture
def runner(tmp_path: Path) -> LocalRunner:
    state = OfflineState(tmp_path / "offline")
    store = NodeStore(tmp_path / "store", capacity_bytes=10**6, by=DEVICE)
    blob = tmp_path / "blob"
    blob.write_bytes(b"weights")
    asyncio.run(store.add_blob("guest/model@2", blob, sha256=hashlib.sha256(b"weights")
                               .hexdigest(), size=7, format="bytes", kind="model",
                               locality="network:corp", pinned=True))
    config = AgentConfig(controller="ws://127.0.0.1:1", token="t", id=DEVICE)
    return LocalRunner(config, state, DeviceArtifacts(store, DEVICE), pool=None)  # type: ignore[arg-type]


MODEL = {"kind": "model", "name": "model", "ref": "model"}


@pytest.mark.parametrize(("held", "words"), [
    pytest.param(None, "holds no copy of guest/a", id="no copy: 503 says so"),
    pytest.param(copy(policies=[{"type": "offline", "node": ["tablet-9"]}]),
                 "does not allow invoker tablet-1", id="a copy another device may keep"),
    pytest.param(copy(produces=[{"kind": "data", "name": "p", "ref": "p"}]),
                 "produces artifacts", id="an action that produces artifacts"),
    pytest.param(copy(consumes=[{"kind": "model", "name": "m", "selector": {"type": "x"}}]),
                 "by selector", id="a model chosen by selector"),
    pytest.param(copy(consumes=[{"kind": "data", "name": "d", "ref": "readings"}]),
                 "artifact readings, which guest/a consumes, is not on invoker tablet-1",
                 id="a consumed artifact the device does not hold"),
])
def test_what_the_device_cannot_run_is_refused_naming_what_is_missing(
        runner: LocalRunner, held: OfflineAction | None, words: str) -> None:
    if held is not None:
        runner.state.keep_action(held)
    with pytest.raises(Unavailable) as refused:
        runner.prepare("guest/a", {}, ())
    assert words in refused.value.message and refused.value.status == 503


def test_an_unbound_variable_is_a_bad_request(runner: LocalRunner) -> None:
    runner.state.keep_action(copy(consumes=[{"kind": "data", "name": "d", "ref": "{usr}/x"}]))
    with pytest.raises(BadRequest):
        runner.prepare("guest/a", {}, ())


@pytest.mark.parametrize(("annotation", "networks", "waits"), [
    pytest.param({}, (), None, id="no network rule: runs now"),
    pytest.param({"policies": [{"type": "offline"},
                               {"type": "data", "network": ["corp"], "strict": True}]},
                 ("4g",), "corp", id="a strict data policy off its network: waits"),
    pytest.param({"policies": [{"type": "offline"},
                               {"type": "data", "network": ["corp"], "strict": False}]},
                 ("4g",), None, id="a soft data policy does not wait"),
    pytest.param({"policies": [{"type": "offline"},
                               {"type": "data", "network": ["corp"], "strict": True}]},
                 ("4g", "corp"), None, id="on the network: runs now"),
    pytest.param({"consumes": [MODEL]}, ("4g",), "corp",
                 id="a consumed network:corp artifact off corp: waits"),
])
def test_network_rules_make_an_activation_wait(runner: LocalRunner, annotation: dict,
                                               networks: tuple[str, ...],
                                               waits: str | None) -> None:
    runner.state.keep_action(copy(**annotation))
    prepared = runner.prepare("guest/a", {"x": 2}, networks)
    assert prepared.waits_for == waits
    assert prepared.params == {"k": 1, "x": 2}          # defaults under the invoke's


def test_a_consumed_artifact_is_the_newest_version_held(runner: LocalRunner) -> None:
    runner.state.keep_action(copy(consumes=[MODEL]))
    (consumed,) = runner.prepare("guest/a", {}, ("corp",)).consumes
    assert (consumed.name, consumed.key, consumed.size) == ("model", "guest/model@2", 7)


@pytest.mark.parametrize(("text", "networks"), [
    pytest.param("corp\n4g\n", {"corp", "4g"}, id="one network a line"),
    pytest.param("\n# the office\ncorp  # joined at 9\n\n", {"corp"}, id="comments and blanks"),
    pytest.param(None, set(), id="no file: no network"),
])
def test_the_networks_file(tmp_path: Path, text: str | None, networks: set[str]) -> None:
    path = tmp_path / "networks"
    if text is not None:
        path.write_text(text)
    assert read_networks(path) == networks
